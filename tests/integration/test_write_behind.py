"""Group commit of step records (``store/sql/write_behind.py``) with real processes and a
real SQLite file (and PostgreSQL for the in-process guarantees).

- read-your-writes: hooks and steps reading through ``Client`` see every earlier step
  even when the group commit would wait a minute;
- another process sees a finished step within a fraction of a second;
- leaving the process (normal exit, SIGTERM) commits what is queued;
- a deferred commit the database refuses surfaces as a ``StoreError`` naming the store,
  and the rest of its batch is kept;
- SIGKILL at random moments of a long, fast chain leaves a consistent store whose
  recorded steps are a prefix of the chain, each loading its value, and a rerun reuses
  them from the cache.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.enums import ExecutionStatus as Status
from headrace.exceptions import StoreError
from headrace.models import (
    ArtifactVersionRequest,
    PipelineRunRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.factory import forget_stores
from headrace.store.sql.store import SqlStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

A_MINUTE_MS = "60000"  # the group commit would wait this long on its own


def _environment(repo: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")},
        "HEADRACE_CONFIG_PATH": os.environ["HEADRACE_CONFIG_PATH"],
        "HEADRACE_CONTAINER_ENGINE": "none",
        "HEADRACE_LOGGING_VERBOSITY": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(repo), *sys.path]),
        **extra,
    }


def _statuses(database: Path) -> dict[str, str]:
    """Step names and statuses as another process reads them straight from the file."""
    connection = sqlite3.connect(database, timeout=30)
    try:
        return dict(connection.execute("SELECT name, status FROM step_runs").fetchall())
    finally:
        connection.close()


def _integrity(database: Path) -> str:
    connection = sqlite3.connect(database, timeout=30)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


# -- read-your-writes -------------------------------------------------------------------
SEEN: list[list[str]] = []


@step
def first() -> int:
    return 1


@step
def second(x: int) -> int:
    # A step reading the store sees the step before it, though its group commit waits.
    run = Client().get_pipeline_run(Client().list_pipeline_runs(size=1).items[0].id)
    SEEN.append(sorted(n for n, s in run.steps.items() if s.status is Status.COMPLETED))
    return x + 1


def _hook_reads() -> None:
    run = Client().list_pipeline_runs(size=1).items[0]
    SEEN.append(sorted(n for n, s in run.steps.items() if s.status is Status.COMPLETED))


@pipeline(enable_cache=False)
def reading() -> None:
    second.with_options(on_success=_hook_reads)(first())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_steps_and_hooks_read_their_own_writes(
    backend: str, repo: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if backend == "postgresql":
        monkeypatch.setenv("HEADRACE_STORE_URL", request.getfixturevalue("postgres_url"))
        forget_stores()
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", A_MINUTE_MS)
    SEEN.clear()
    started = time.monotonic()
    run = reading()
    assert time.monotonic() - started < 30, "a read waited for the group commit's timer"
    assert SEEN == [["first"], ["first", "second"]]
    assert run.status is ExecutionStatus.COMPLETED
    again = Client().get_pipeline_run(run.id)
    assert {n: s.status for n, s in again.steps.items()} == {
        "first": ExecutionStatus.COMPLETED,
        "second": ExecutionStatus.COMPLETED,
    }
    assert again.steps["second"].output.load() == 2


# -- other processes ----------------------------------------------------------------------
PIPELINES = textwrap.dedent(
    """
    import os
    import sys
    import time

    from headrace import pipeline, step

    MARK = os.environ.get("MARK", "mark")


    @step(enable_cache=False)
    def quick(x: int) -> int:
        return x + 1


    @step(enable_cache=False)
    def slow(x: int) -> int:
        with open(MARK, "w") as handle:  # the step before this one has ended
            handle.write(str(time.time()))
        time.sleep(float(os.environ.get("SLOW_S", "30")))
        return x


    @pipeline(enable_cache=False)
    def quick_then_slow() -> None:
        slow(quick(1))


    @step
    def inc(x: int) -> int:
        return x + 1


    @pipeline
    def long_chain(n: int) -> None:
        x = inc(0, id="inc_0")
        for index in range(1, n):
            x = inc(x, id=f"inc_{index}")


    if __name__ == "__main__":
        shape = sys.argv[1]
        if shape == "chain":
            long_chain(int(sys.argv[2]))
        else:
            quick_then_slow()
    """
)


def _start(repo: Path, *args: str, **extra: str) -> subprocess.Popen[bytes]:
    (repo / "behind_pipelines.py").write_text(PIPELINES)
    return subprocess.Popen(
        [sys.executable, "behind_pipelines.py", *args],
        cwd=repo,
        env=_environment(repo, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.002)


def test_another_process_sees_a_finished_step_within_the_group_commit_delay(repo: Path) -> None:
    database = repo / ".headrace" / "headrace.db"
    driver = _start(repo, "pair")
    try:
        _wait_for(repo / "mark", driver)
        marked = time.monotonic()
        while _statuses(database).get("quick") != "completed":
            time.sleep(0.002)
            assert time.monotonic() - marked < 10, "the finished step never became visible"
        seen_after = time.monotonic() - marked
        assert _statuses(database).get("slow") in (None, "running")  # still running
    finally:
        driver.kill()
        driver.wait()
    # 20 ms of group commit plus one commit; generous for a loaded 2-core machine.
    assert seen_after < 1.0, f"visible only after {seen_after:.3f} s"
    print(f"another process saw the finished step {seen_after * 1000:.0f} ms after it ended")


def test_exit_and_sigterm_commit_what_is_queued(repo: Path) -> None:
    database = repo / ".headrace" / "headrace.db"
    # A normal exit: the group commit would wait a minute; the run's end commits.
    done = _start(repo, "pair", HEADRACE_STORE_WRITE_BEHIND_MS=A_MINUTE_MS, SLOW_S="0")
    assert done.wait(120) == 0, done.stderr.read().decode() if done.stderr else ""
    assert _statuses(database) == {"quick": "completed", "slow": "completed"}
    # SIGTERM while the second step runs: the first step's queued record is committed,
    # the run ends stopped.
    (repo / "mark").unlink()
    stopped = _start(repo, "pair", HEADRACE_STORE_WRITE_BEHIND_MS=A_MINUTE_MS)
    try:
        _wait_for(repo / "mark", stopped)
        assert stopped.poll() is None
        stopped.send_signal(signal.SIGTERM)
        stopped.wait(120)
    finally:
        stopped.kill()
        stopped.wait()
    runs = Client().list_pipeline_runs(size=1, sort_by="desc:created").items
    assert runs[0].status is ExecutionStatus.STOPPED
    assert runs[0].steps["quick"].status is ExecutionStatus.COMPLETED
    assert runs[0].steps["quick"].output.load() == 2
    assert _integrity(database) == "ok"


def test_the_queue_is_committed_at_interpreter_exit(tmp_path: Path) -> None:
    """A process that leaves while a ``write_behind`` block is still open (it calls
    ``sys.exit`` inside it) commits the queue from its exit handler."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    script = textwrap.dedent(
        f"""
        import sys, uuid
        from headrace.enums import ExecutionStatus
        from headrace.models import PipelineRunRequest, StepRunRequest, StepRunUpdate
        from headrace.store.sql.store import SqlStore

        store = SqlStore({url!r}, default_artifact_path={str(tmp_path / "artifacts")!r})
        run = store.create_run(PipelineRunRequest(
            id=str(uuid.uuid4()), name="r", pipeline_id=None, snapshot_id=None,
            stack_id=store.get_default_stack().id))
        block = store.write_behind()
        block.__enter__()
        step_id = str(uuid.uuid4())
        request = StepRunRequest(id=step_id, pipeline_run_id=run.id, name="s",
                                 step_name="s", status=ExecutionStatus.RUNNING)
        store.complete_step_run(step_id, StepRunUpdate(status=ExecutionStatus.COMPLETED),
                                {{}}, create=[request])
        sys.exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=_environment(tmp_path, HEADRACE_STORE_WRITE_BEHIND_MS=A_MINUTE_MS),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert _statuses(tmp_path / "store.db") == {"s": "completed"}


# -- a refused deferred commit ------------------------------------------------------------
def _run_record(store: SqlStore) -> str:
    return store.create_run(
        PipelineRunRequest(
            id=str(uuid.uuid4()),
            name=f"r-{uuid.uuid4().hex[:8]}",
            pipeline_id=None,
            snapshot_id=None,
            stack_id=store.get_default_stack().id,
        )
    ).id


def _complete(store: SqlStore, run_id: str, name: str, version: str | None, stack_id: str) -> None:
    step_id = str(uuid.uuid4())
    store.complete_step_run(
        step_id,
        StepRunUpdate(status=ExecutionStatus.COMPLETED),
        {
            "out": [
                ArtifactVersionRequest(
                    id=str(uuid.uuid4()),
                    artifact_name="shared",
                    uri=f"/tmp/{uuid.uuid4()}",
                    materializer="m.M",
                    data_type="builtins.int",
                    content_hash="0" * 64,
                    size=1,
                    artifact_store_id=stack_id,
                    version=version,
                )
            ]
        },
        create=[
            StepRunRequest(
                id=step_id,
                pipeline_run_id=run_id,
                name=name,
                step_name=name,
                status=ExecutionStatus.RUNNING,
            )
        ],
    )


def test_a_refused_deferred_commit_raises_store_error_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "store.db"
    url = f"sqlite:///{database}"
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", A_MINUTE_MS)
    store = SqlStore(url, default_artifact_path=str(tmp_path / "artifacts"))
    run_id = _run_record(store)
    stack_id = store.get_default_stack().id  # read before: a read commits the queue
    try:
        with pytest.raises(StoreError, match=f"store at {url} refused"):
            with store.write_behind():
                _complete(store, run_id, "before", None, stack_id)
                _complete(store, run_id, "taken", "v1", stack_id)
                _complete(store, run_id, "after", None, stack_id)
                # Another process takes version "v1" of the artifact meanwhile.
                taker = textwrap.dedent(
                    f"""
                    import uuid
                    from headrace.models import ArtifactVersionRequest
                    from headrace.store.sql.store import SqlStore
                    store = SqlStore({url!r}, default_artifact_path="unused")
                    store.create_artifact_version(ArtifactVersionRequest(
                        id=str(uuid.uuid4()), artifact_name="shared", uri="/tmp/x",
                        materializer="m.M", data_type="builtins.int", content_hash="0" * 64,
                        size=1, artifact_store_id=store.get_default_stack().id, version="v1"))
                    """
                )
                subprocess.run(
                    [sys.executable, "-c", taker],
                    env=_environment(tmp_path),
                    check=True,
                    timeout=300,
                )
                assert "before" not in _statuses(database)  # still queued
                store.flush()
        # The refused step's records are the only ones missing; the store is whole.
        assert _statuses(database) == {"before": "completed", "after": "completed"}
        assert _integrity(database) == "ok"
        store.flush()  # reported once, not again
    finally:
        store.close()


def test_a_write_refused_in_the_committing_thread_is_raised_to_the_next_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "store.db"
    url = f"sqlite:///{database}"
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", "10")
    store = SqlStore(url, default_artifact_path=str(tmp_path / "artifacts"))
    other = SqlStore(url, default_artifact_path=str(tmp_path / "artifacts"))
    run_id = _run_record(store)
    stack_id = store.get_default_stack().id
    try:
        _complete(other, run_id, "first", "v1", stack_id)  # "v1" is taken already
        with pytest.raises(StoreError, match=f"store at {url} refused"):
            with store.write_behind():
                _complete(store, run_id, "before", None, stack_id)
                _complete(store, run_id, "taken", "v1", stack_id)
                _complete(store, run_id, "after", None, stack_id)
                deadline = time.monotonic() + 60
                while "after" not in _statuses(database):  # the thread committed
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                # The refusal is kept for the next caller: this read raises it.
                store.get_default_stack()
        assert _statuses(database) == {
            "first": "completed",
            "before": "completed",
            "after": "completed",
        }
    finally:
        other.close()
        store.close()


def test_a_full_disk_under_a_deferred_commit_fails_the_run_naming_the_store(
    tmp_path: Path,
) -> None:
    """A file size limit set by the run's first step makes the database's growth fail at
    a later group commit: the run fails with an error naming the store, nothing is
    half-written, and every step recorded completed loads its value."""
    database = tmp_path / "store.db"
    script = textwrap.dedent(
        """
        import os, resource, signal, sqlite3
        from headrace import pipeline, step
        from headrace.client import Client
        from headrace.exceptions import RunFailedError, StoreError

        DATABASE = os.environ["HEADRACE_STORE_URL"].removeprefix("sqlite:///")
        _soft, HARD = resource.getrlimit(resource.RLIMIT_FSIZE)

        @step
        def limit() -> int:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past it fail: EFBIG
            largest = max(os.path.getsize(DATABASE), os.path.getsize(DATABASE + "-wal"))
            resource.setrlimit(resource.RLIMIT_FSIZE, (largest, HARD))
            return 0

        @step
        def inc(x: int) -> int:
            return x + 1

        @pipeline(enable_cache=False)
        def chain(n: int) -> None:
            x = limit()
            for _ in range(n):
                x = inc(x)

        outcome = "no error"
        try:
            chain(3000)
        except (RunFailedError, StoreError) as exc:
            outcome = type(exc).__name__ + ": " + " ".join(str(exc).split())
        resource.setrlimit(resource.RLIMIT_FSIZE, (HARD, HARD))
        print(outcome)
        print(sqlite3.connect(DATABASE).execute("PRAGMA integrity_check").fetchone()[0])
        run = Client().list_pipeline_runs(size=1).items[0]
        done = [s for s in run.steps.values() if s.status.value == "completed"]
        values = sorted(s.output.load() for s in done if s.step_name == "inc")
        print(run.status.value, len(done), values == list(range(1, len(values) + 1)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_environment(tmp_path, HEADRACE_STORE_URL=f"sqlite:///{database}"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    outcome, check, summary = result.stdout.strip().splitlines()[-3:]
    print(outcome, summary)
    assert outcome.startswith(("StoreError", "RunFailedError")), outcome
    assert f"store at sqlite:///{database}" in outcome, outcome
    assert check == "ok"
    status, completed, prefix = summary.split()
    assert status in ("failed", "running"), summary  # running: its end was refused too
    assert int(completed) < 3001 and prefix == "True", summary


# -- SIGKILL --------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_during_a_fast_chain_keeps_a_consistent_prefix(repo: Path) -> None:
    database = repo / ".headrace" / "headrace.db"
    rng = random.Random(20261202)
    steps = 400
    for _ in range(3):
        driver = _start(repo, "chain", str(steps))
        try:
            deadline = time.monotonic() + 120
            while "completed" not in _statuses(database).values():
                assert driver.poll() is None or driver.returncode == 0
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
            driver.send_signal(signal.SIGKILL)
        finally:
            driver.kill()
            driver.wait()
        assert _integrity(database) == "ok"
        run = Client().list_pipeline_runs(size=1, sort_by="desc:created").items[0]
        done = [n for n, s in run.steps.items() if s.status is ExecutionStatus.COMPLETED]
        # Completions are committed in order: what is recorded is a prefix of the chain.
        assert sorted(done, key=lambda n: int(n.split("_")[1])) == [
            f"inc_{i}" for i in range(len(done))
        ]
        for name in done[-5:]:
            assert run.steps[name].output.load() == int(name.split("_")[1]) + 1
        forget_stores()
    # A rerun reuses what the killed runs recorded.
    rerun = subprocess.run(
        [sys.executable, "behind_pipelines.py", "chain", "50"],
        cwd=repo,
        env=_environment(repo),
        capture_output=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    last = Client().list_pipeline_runs(size=1, sort_by="desc:created").items[0]
    assert last.status is ExecutionStatus.COMPLETED
    assert any(s.status is ExecutionStatus.CACHED for s in last.steps.values())
    assert last.steps["inc_49"].output.load() == 50
