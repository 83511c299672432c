"""Snapshot code: archives leave out the store and credentials, the code cache is private
and verified, and a run configuration cannot make the runner import foreign modules."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.artifact_stores.base import LocalArtifactStore
from headrace.client import Client
from headrace.exceptions import RunConfigurationError, SnapshotError
from headrace.snapshots.code_archive import archive_code, project_files
from headrace.snapshots.code_cache import default_code_cache, extract_code, private_directory
from headrace.store.factory import GITIGNORE_TEXT

PROJECT = textwrap.dedent(
    '''
    from headrace import pipeline, step


    @step
    def double(x: float = 1.0) -> float:
        """Double it.

        Args:
            x: the number.
        """
        return x * 2


    @pipeline(enable_cache=False)
    def numbers() -> None:
        double()
    '''
)


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (repo / "flow.py").write_text(PROJECT)
    monkeypatch.syspath_prepend(str(repo))
    sys.modules.pop("flow", None)
    yield repo
    sys.modules.pop("flow", None)


def _snapshot(name: str = "nightly") -> object:
    import flow  # type: ignore[import-not-found]

    return flow.numbers.create_snapshot(name=name)


# -- .gitignore and what archives hold -------------------------------------------------------
def test_init_writes_a_gitignore_that_keeps_the_key_out_of_git(repo: Path) -> None:
    assert (repo / ".headrace" / ".gitignore").read_text() == GITIGNORE_TEXT
    Client().create_secret("db", {"password": "hunter2"})
    assert (repo / ".headrace" / "secrets.key").exists()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    staged = subprocess.run(
        ["git", "-C", str(repo), "diff", "--cached", "--name-only"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [name for name in staged if name.startswith(".headrace")]


def test_archives_never_hold_the_store_keys_or_env_files(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store inside the project tree but not in .headrace, as HEADRACE_STORE_URL allows.
    store_dir = project / "state"
    monkeypatch.setenv("HEADRACE_STORE_URL", f"sqlite:///{store_dir / 'meta.db'}")
    from headrace.store.factory import forget_stores

    forget_stores()
    Client().create_secret("db", {"password": "hunter2"})
    (project / ".env").write_text("TOKEN=secret\n")
    (project / ".env.production").write_text("TOKEN=secret\n")
    (project / "deploy.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (project / "notes.txt").write_text("kept")
    snapshot = _snapshot()
    archive = Path(snapshot.extra["code"]["uri"])  # type: ignore[attr-defined]
    _snapshot("second")  # the first archive now lies inside the project tree too
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "flow.py" in names and "notes.txt" in names
    for name in names:
        assert not name.startswith(("state", ".headrace")), name
        assert not name.startswith(".env") and not name.endswith((".pem", ".key")), name
    files = project_files(project, [str(store_dir)])
    assert not [f for f in files if f.startswith("state")]


# -- the code cache -------------------------------------------------------------------------
def _archive(tmp_path: Path) -> tuple[LocalArtifactStore, dict[str, object]]:
    source = tmp_path / "src"
    source.mkdir()
    (source / "mod.py").write_text("VALUE = 'verified'\n")
    store = LocalArtifactStore(str(tmp_path / "artifacts"))
    made = archive_code(source, store)
    return store, {"digest": made.digest, "uri": made.uri}


def test_the_code_cache_is_private_and_never_in_a_shared_temporary_directory(
    tmp_path: Path,
) -> None:
    store, archive = _archive(tmp_path)
    cache = tmp_path / "cache"
    target = extract_code(archive, store, cache)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert (target / "mod.py").read_text() == "VALUE = 'verified'\n"
    remote = default_code_cache(LocalArtifactStore("relative-path-is-made-absolute"))
    assert remote.is_absolute()
    assert not str(default_code_cache(store)).startswith("/tmp/headrace-code-cache")


def test_an_open_cache_directory_is_emptied_and_made_private(tmp_path: Path) -> None:
    store, archive = _archive(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    planted = cache / str(archive["digest"])
    planted.mkdir()
    (planted / "mod.py").write_text("VALUE = 'planted'\n")
    (planted / ".complete").touch()
    target = extract_code(archive, store, cache)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert (target / "mod.py").read_text() == "VALUE = 'verified'\n"


def test_a_planted_or_altered_cache_entry_is_never_used(tmp_path: Path) -> None:
    store, archive = _archive(tmp_path)
    cache = tmp_path / "cache"
    target = extract_code(archive, store, cache)
    (target / "mod.py").write_text("VALUE = 'planted'\n")
    (target / "__pycache__").mkdir()
    (target / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"planted bytecode")
    again = extract_code(archive, store, cache)
    assert (again / "mod.py").read_text() == "VALUE = 'verified'\n"
    assert not (again / "__pycache__").exists()
    (again / "extra.py").write_text("import os\n")
    assert not (extract_code(archive, store, cache) / "extra.py").exists()


def test_a_cache_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, 12345, 12345)
    with pytest.raises(SnapshotError, match="belongs to user id 12345"):
        private_directory(cache)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(SnapshotError, match="not a plain directory"):
        private_directory(link)


def test_a_replaced_archive_is_refused(tmp_path: Path) -> None:
    store, archive = _archive(tmp_path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"VALUE = 'replaced'\n"
        info = tarfile.TarInfo("mod.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    Path(str(archive["uri"])).write_bytes(buffer.getvalue())
    cache = tmp_path / "cache"
    with pytest.raises(SnapshotError, match="replaced or altered"):
        extract_code(archive, store, cache)
    assert not (cache / str(archive["digest"])).exists()
    assert [p.name for p in cache.iterdir()] == []


# -- run configurations of snapshots -------------------------------------------------------
def test_source_dependencies_may_only_name_the_snapshots_own_code(project: Path) -> None:
    snapshot = _snapshot()
    assert snapshot.extra["code"]["modules"] == ["flow"]  # type: ignore[attr-defined]
    with pytest.raises(RunConfigurationError, match="'os.system' is not code of this snapshot"):
        Client().trigger_pipeline(
            snapshot_name_or_id="nightly",
            run_configuration={"cache_policy": {"source_dependencies": ["os.system"]}},
        )
    assert Client().list_pipeline_runs(size=1).total == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_naming_the_parameter(project: Path, value: float) -> None:
    _snapshot()
    with pytest.raises(RunConfigurationError, match=r"steps\.double\.parameters\.x: .*non-finite"):
        Client().trigger_pipeline(
            snapshot_name_or_id="nightly",
            run_configuration={"steps": {"double": {"parameters": {"x": value}}}},
        )
