"""Step records written in bulk (``store/sql/step_writes.py``) and the group commit's
back-pressure, on a real SQLite file (and PostgreSQL for the version numbers)."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.enums import ExecutionStatus
from headrace.exceptions import StoreError
from headrace.models import (
    ArtifactVersionRequest,
    PipelineRunRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.sql.columns import columns
from headrace.store.sql.repositories import artifacts
from headrace.store.sql.store import SqlStore
from headrace.store.sql.write_behind import WriteBehind


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlStore]:
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", "60000")  # one batch per block
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = SqlStore(url, default_artifact_path=str(tmp_path / "artifacts"))
    yield opened
    opened.close()


def _run(store: SqlStore) -> str:
    return store.create_run(
        PipelineRunRequest(
            id=_id(),
            name=f"r-{_id()[:8]}",
            pipeline_id=None,
            snapshot_id=None,
            stack_id=store.get_default_stack().id,
        )
    ).id


def _version(store: SqlStore, name: str, version: str | None = None) -> ArtifactVersionRequest:
    return ArtifactVersionRequest(
        id=_id(),
        artifact_name=name,
        uri=f"/tmp/{_id()}",
        materializer="m.M",
        data_type="builtins.int",
        content_hash="0" * 64,
        size=1,
        artifact_store_id=store.get_default_stack().id,
        version=version,
    )


def _complete(
    store: SqlStore, run_id: str, name: str, outputs: dict[str, list[ArtifactVersionRequest]]
) -> str:
    step_id = _id()
    start = StepRunRequest(
        id=step_id,
        pipeline_run_id=run_id,
        name=name,
        step_name=name,
        status=ExecutionStatus.RUNNING,
    )
    store.complete_step_run(
        step_id, StepRunUpdate(status=ExecutionStatus.COMPLETED), outputs, create=[start]
    )
    return step_id


def test_the_bulk_insert_binds_every_version_column() -> None:
    assert sorted(artifacts._VERSION_COLUMNS) == sorted(columns("artifact_versions"))


def test_one_batch_numbers_versions_of_new_and_existing_artifacts_in_order(
    store: SqlStore,
) -> None:
    run_id = _run(store)
    _complete(store, run_id, "before", {"out": [_version(store, "shared")]})  # version 1
    other = SqlStore(store.url, default_artifact_path="unused")  # another process's store
    try:
        other.create_artifact_version(_version(other, "shared"))  # version 2, not seen here
    finally:
        other.close()
    with store.write_behind():
        _complete(store, run_id, "a", {"out": [_version(store, "shared"), _version(store, "new")]})
        _complete(store, run_id, "b", {"out": [_version(store, "shared", "named")]})
        _complete(store, run_id, "c", {"out": [_version(store, "new"), _version(store, "shared")]})
    steps = store.list_step_runs(run_id)
    assert [v.version for v in steps["a"].outputs["out"]] == ["3", "1"]
    assert [v.version for v in steps["b"].outputs["out"]] == ["named"]
    assert [v.version for v in steps["c"].outputs["out"]] == ["2", "4"]
    assert store.get_artifact("shared").latest_version_number == 4
    assert store.get_artifact("new").latest_version_number == 2
    assert store.get_artifact_version("shared").version == "4"  # the latest one


def test_a_numeric_version_name_is_refused_before_anything_is_written(store: SqlStore) -> None:
    run_id = _run(store)
    with pytest.raises(StoreError, match="'7' is a number"):
        _complete(store, run_id, "s", {"out": [_version(store, "x", "7")]})
    assert "s" not in store.list_step_runs(run_id)


def test_the_thread_that_queues_commits_once_the_backlog_is_full(tmp_path: Path) -> None:
    """The committing thread never gets to run (a minute's delay, a huge batch size):
    the queue still never holds more than the backlog, because the thread that queues
    commits a batch itself; every record is committed once the block ends."""
    database = tmp_path / "store.db"
    store = SqlStore(f"sqlite:///{database}", default_artifact_path=str(tmp_path / "a"))
    run_id = _run(store)
    behind = store._db.write_behind = WriteBehind(
        store._db, store.step_runs, delay_s=60, max_queued=10_000, max_backlog=25
    )
    longest = 0
    try:
        with store.write_behind():
            for index in range(100):
                _complete(store, run_id, f"s{index}", {"out": [_version(store, f"o{index}")]})
                longest = max(longest, len(behind._queue))
                committed = (
                    sqlite3.connect(database)
                    .execute("SELECT count(*) FROM step_runs")
                    .fetchone()[0]
                )
                assert committed >= index + 1 - 25  # never more than the backlog waits
        assert longest < 25
        assert threading.current_thread() is threading.main_thread()
        assert len(store.list_step_runs(run_id)) == 100
    finally:
        store.close()
