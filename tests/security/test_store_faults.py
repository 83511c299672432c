"""A store whose disk fills up or is read-only: runs end with a clear error naming the
store, nothing is corrupted, and completed outputs still load.

The disks are real: a tmpfs of a few MB the test mounts (and a read-only bind mount of
it), which needs root; without it those tests are skipped, and the ``RLIMIT_FSIZE`` test
(a kernel limit that fails writes past a size, for any user) still covers a disk that
refuses writes.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.exceptions import RunFailedError, StoreError
from headrace.store.factory import forget_stores, init_repository

FILLER = "filler.bin"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A tmpfs mounted for this test: 4 MB, or the size given by indirect parametrization."""
    size = getattr(request, "param", "4m")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or not _mount(
        "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)
    ):
        pytest.skip("mounting a small file system needs root (covered by the RLIMIT_FSIZE test)")
    try:
        yield mount_point
    finally:
        forget_stores()
        _unmount(mount_point)


def fill(directory: Path, leave: int = 0) -> Path:
    """Fill the file system holding ``directory`` until ``leave`` bytes (about) are free."""
    filler = directory / FILLER
    with open(filler, "wb") as handle:
        stat = os.statvfs(directory)
        free = stat.f_bavail * stat.f_frsize - leave
        try:
            while free > 0:
                handle.write(b"\0" * min(free, 1 << 16))
                handle.flush()
                free -= 1 << 16
        except OSError:
            pass  # full
    return filler


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


@step
def make(n: int) -> bytes:
    return b"x" * n


@step
def measure(data: bytes) -> int:
    return len(data)


@pipeline(enable_cache=False)
def sized(n: int = 10) -> None:
    measure(make(n))


@step
def hog(data: bytes, target: str) -> int:
    """Fills the disk of the store's database, as another process might."""
    fill(Path(target))
    return len(data)


def _free_space(target: str) -> None:
    (Path(target) / FILLER).unlink(missing_ok=True)


@step
def after(value: int) -> int:
    return value + 1


def test_artifact_write_on_a_full_disk_fails_the_run_and_keeps_the_store(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(small_disk)
    init_repository(small_disk)
    done = sized(n=100)
    filler = fill(small_disk, leave=400_000)
    with pytest.raises(RunFailedError, match="No space left on device"):
        sized(n=2_000_000)
    failed = Client().list_pipeline_runs(size=1).items[0]
    assert failed.status is ExecutionStatus.FAILED
    assert failed.steps["make"].status is ExecutionStatus.FAILED
    assert not list((small_disk / ".headrace" / "artifacts" / "runs" / failed.id).glob("*"))
    filler.unlink()
    assert integrity(small_disk / ".headrace" / "headrace.db") == "ok"
    assert done.steps["measure"].output.load() == 100
    assert sized(n=7).steps["measure"].output.load() == 7


def test_a_full_disk_under_the_database_raises_store_error_naming_the_store(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{small_disk / 'store.db'}"
    monkeypatch.setenv("HEADRACE_STORE_URL", url)
    monkeypatch.chdir(tmp_path)
    done = sized(n=5)
    filler = fill(small_disk)
    with pytest.raises(StoreError, match=f"store at {url}.*full"):
        sized(n=6)
    filler.unlink()
    assert integrity(small_disk / "store.db") == "ok"
    assert done.steps["measure"].output.load() == 5
    assert [r.status for r in Client().list_pipeline_runs(size=5).items] == [
        ExecutionStatus.COMPLETED
    ]


def test_the_disk_filling_during_a_run_ends_the_run_once_space_is_freed(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step fills the database's disk. Its completion is committed with the next group
    (``HEADRACE_STORE_WRITE_BEHIND_MS``), so the refused commit fails the run at the next
    write (a later step's, or the run's end) with an error naming the store; nothing
    queued is dropped: once space is freed, the next read commits it and the run shows
    ended."""
    url = f"sqlite:///{small_disk / 'store.db'}"
    monkeypatch.setenv("HEADRACE_STORE_URL", url)
    monkeypatch.chdir(tmp_path)
    # Artifacts on another disk: only the database's disk fills up.
    (tmp_path / "artifacts").mkdir()
    (small_disk / "artifacts").symlink_to(tmp_path / "artifacts")
    target = str(small_disk)
    errors: list[BaseException] = []

    def freed(exception: BaseException) -> None:
        # The operator frees space when the error shows: the step's failure is recorded.
        errors.append(exception)
        _free_space(target)

    @pipeline(enable_cache=False, on_failure=freed)
    def filling() -> None:
        after(hog(make(3), target))

    with pytest.raises((RunFailedError, StoreError), match="store at .*full"):
        filling()
    assert all(isinstance(e, StoreError) and url in str(e) for e in errors)
    _free_space(target)
    run = Client().list_pipeline_runs(size=1).items[0]
    assert run.status is ExecutionStatus.FAILED
    assert run.steps["make"].status is ExecutionStatus.COMPLETED
    assert run.steps["hog"].status in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED)
    assert run.steps["make"].output.load() == b"xxx"
    assert integrity(small_disk / "store.db") == "ok"


def test_a_read_only_store_reads_and_loads_but_refuses_runs(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(small_disk)
    init_repository(small_disk)
    done = sized(n=42)
    forget_stores()
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    assert _mount("--bind", str(small_disk), str(read_only))
    try:
        assert _mount("-o", "remount,bind,ro", str(read_only))
        monkeypatch.chdir(read_only)
        runs = Client().list_pipeline_runs(size=5).items
        assert [r.id for r in runs] == [done.id]
        assert runs[0].steps["measure"].output.load() == 42
        with pytest.raises(StoreError, match=f"{read_only}.*read-only"):
            sized(n=1)
        forget_stores()
    finally:
        _unmount(read_only)
    monkeypatch.chdir(small_disk)
    assert integrity(small_disk / ".headrace" / "headrace.db") == "ok"
    assert [r.status for r in Client().list_pipeline_runs(size=5).items] == [
        ExecutionStatus.COMPLETED
    ]


_RLIMIT_SCRIPT = textwrap.dedent(
    """
    import os, resource, signal, sqlite3, sys
    from headrace import pipeline, step
    from headrace.client import Client
    from headrace.exceptions import RunFailedError, StoreError

    @step
    def make(n: int) -> bytes:
        return b"x" * n

    @step
    def measure(data: bytes) -> int:
        return len(data)

    @pipeline(enable_cache=False)
    def sized(n: int = 10) -> None:
        measure(make(n))

    done = sized(n=11)
    database = os.environ["HEADRACE_STORE_URL"].removeprefix("sqlite:///")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    size = os.path.getsize(database)
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))  # the soft limit can be raised again
    outcome = "no error"
    try:
        for n in range(200):  # until the database must grow past its current size
            sized(n=2_000)
    except (RunFailedError, StoreError) as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    print(outcome)
    print(sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0])
    print(Client().get_pipeline_run(done.id).steps["measure"].output.load())
    """
)


def test_a_file_size_limit_makes_writes_fail_with_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / f"{uuid.uuid4().hex}.db"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")},
        "HEADRACE_STORE_URL": f"sqlite:///{database}",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(
        [sys.executable, "-c", _RLIMIT_SCRIPT],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome, check, loaded = result.stdout.strip().splitlines()[-3:]
    assert outcome.startswith(("StoreError", "RunFailedError")), outcome
    assert str(database) in outcome, outcome
    assert check == "ok"
    assert loaded == "11"


@step
def blob(index: int, size: int) -> bytes:
    return bytes([index % 256]) * size


@step
def lengths(blobs: list[bytes]) -> list[int]:
    return [len(b) for b in blobs]


@pipeline(enable_cache=True)
def fan(sizes: list[int]) -> None:
    lengths([blob(i, size) for i, size in enumerate(sizes)])


@pytest.mark.parametrize("small_disk", ["16m"], indirect=True)
def test_seeded_disk_full_faults_lose_nothing(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fill the disk to a seeded random level before fan-out runs of random output sizes;
    after each: the database is intact, every completed output loads with its value, and
    a run is only left unended when the store itself refused the write (a StoreError
    naming the store was raised)."""
    import random

    monkeypatch.chdir(small_disk)
    init_repository(small_disk)
    database = small_disk / ".headrace" / "headrace.db"
    rng = random.Random(20261201)
    injected = 0
    refused: set[str] = set()  # runs the store could not even end: a StoreError was raised
    for _ in range(12):
        sizes = [rng.randrange(1, 250_000) for _ in range(rng.randrange(2, 6))]
        filler = fill(small_disk, leave=rng.randrange(0, 1_500_000))
        injected += 1
        before = {run.id for run in Client().list_pipeline_runs(size=100).items}
        try:
            fan(sizes=sizes)
        except StoreError as exc:
            assert str(database) in str(exc)
            refused |= {r.id for r in Client().list_pipeline_runs(size=100).items} - before
        except RunFailedError as exc:
            assert "No space left" in str(exc) or "full" in str(exc)
        filler.unlink()
        assert integrity(database) == "ok"
        for run in Client().list_pipeline_runs(size=50).items:
            for step_run in run.steps.values():
                if step_run.status not in (ExecutionStatus.COMPLETED, ExecutionStatus.CACHED):
                    continue
                value = step_run.output.load()
                if step_run.name == "lengths":
                    expected = [len(b.load()) for b in step_run.inputs["blobs"]]
                    assert value == expected
                else:
                    index = step_run.parameters["index"]
                    assert value == bytes([index % 256]) * step_run.parameters["size"]
            assert run.status is not ExecutionStatus.RUNNING or run.id in refused
        # With space again, a cached rerun gives the right result.
        assert fan(sizes=sizes).steps["lengths"].output.load() == sizes
    assert injected == 12
    print(f"{injected} disk-full faults, {len(refused)} runs the store could not end")
