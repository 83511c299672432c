"""The Store contract (SqlStore on SQLite and PostgreSQL, RestStore over a real server):
verbs, not-found, uniqueness, prefixes, paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headrace.config.spec import PipelineSpec
from headrace.enums import ExecutionStatus
from headrace.exceptions import (
    EntityExistsError,
    EntityNotFoundError,
    StoreConflictError,
    StoreError,
)
from headrace.models import (
    ArtifactVersionFilter,
    ArtifactVersionRequest,
    PipelineRunFilter,
    PipelineRunRequest,
    PipelineRunUpdate,
    SnapshotRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.base import Store


def _id() -> str:
    return str(uuid.uuid4())


def _run(store: Store, name: str, pipeline_id: str | None = None) -> str:
    stack = store.get_default_stack()
    run = store.create_run(
        PipelineRunRequest(
            id=_id(), name=name, pipeline_id=pipeline_id, snapshot_id=None, stack_id=stack.id
        )
    )
    return run.id


def _version(store: Store, name: str, version: str | None = None) -> ArtifactVersionRequest:
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


def test_default_stack_is_created_once(contract_store: Store) -> None:
    first = contract_store.get_default_stack()
    assert first.orchestrator.flavor == "local"
    assert first.orchestrator.name == first.artifact_store.name == "default"
    assert contract_store.get_stack("default").id == first.id


def test_pipelines_get_or_create_and_not_found(contract_store: Store) -> None:
    created = contract_store.get_or_create_pipeline("p", "doc")
    assert contract_store.get_or_create_pipeline("p").id == created.id
    assert contract_store.get_pipeline(created.id[:6]).name == "p"
    with pytest.raises(EntityNotFoundError, match="No pipeline has the name or id 'nope'"):
        contract_store.get_pipeline("nope")
    with pytest.raises(KeyError):  # not-found is also a KeyError for mapping-style code
        contract_store.get_pipeline("nope")


def test_run_names_are_unique(contract_store: Store) -> None:
    _run(contract_store, "r1")
    with pytest.raises(EntityExistsError, match="'r1' already exists"):
        _run(contract_store, "r1")


def test_run_update_and_filters(contract_store: Store) -> None:
    pipeline_id = contract_store.get_or_create_pipeline("p").id
    ids = [_run(contract_store, f"run-{i}", pipeline_id) for i in range(5)]
    contract_store.update_run(ids[0], PipelineRunUpdate(status=ExecutionStatus.COMPLETED))
    page = contract_store.list_runs(PipelineRunFilter(pipeline_name="p", size=2))
    assert page.total == 5 and page.total_pages == 3 and len(page) == 2
    assert [r.name for r in page] == ["run-4", "run-3"]
    done = contract_store.list_runs(PipelineRunFilter(status=ExecutionStatus.COMPLETED))
    assert [r.id for r in done] == [ids[0]]
    with pytest.raises(EntityNotFoundError):
        contract_store.update_run(_id(), PipelineRunUpdate(status=ExecutionStatus.FAILED))


def test_a_stop_request_is_read_alone_even_with_step_records_queued(
    contract_store: Store,
) -> None:
    run_id = _run(contract_store, "stoppable")
    assert contract_store.get_stop_request(run_id) is None
    contract_store.stop_run(run_id, graceful=True)
    step_id = _id()
    start = StepRunRequest(
        id=step_id, pipeline_run_id=run_id, name="s", step_name="s",
        status=ExecutionStatus.RUNNING,
    )  # fmt: skip
    with contract_store.write_behind():
        contract_store.complete_step_run(
            step_id,
            StepRunUpdate(status=ExecutionStatus.COMPLETED),
            {"out": [_version(contract_store, "stoppable::s::out")]},
            create=[start],
        )
        assert contract_store.get_stop_request(run_id) == "graceful"
    contract_store.stop_run(run_id)
    assert contract_store.get_stop_request(run_id) == "immediate"
    assert contract_store.list_step_runs(run_id)["s"].status is ExecutionStatus.COMPLETED
    with pytest.raises(EntityNotFoundError):
        contract_store.get_stop_request(_id())


def test_step_runs_outputs_and_cache_lookup(contract_store: Store) -> None:
    run_id = _run(contract_store, "r")
    step_id = contract_store.create_step_run(
        StepRunRequest(
            id=_id(),
            pipeline_run_id=run_id,
            name="train",
            step_name="train",
            status=ExecutionStatus.RUNNING,
            cache_key="k" * 64,
        )
    )
    assert contract_store.find_cached_step_run("k" * 64) is None  # not completed yet
    created = contract_store.complete_step_run(
        step_id,
        StepRunUpdate(status=ExecutionStatus.COMPLETED),
        {"model": [_version(contract_store, "p::train::model")]},
    )
    hit = contract_store.find_cached_step_run("k" * 64)
    assert hit is not None and hit.id == step_id
    assert [v.id for v in hit.outputs["model"]] == created["model"]
    steps = contract_store.list_step_runs(run_id)
    assert steps["train"].status is ExecutionStatus.COMPLETED
    assert steps["train"].outputs["model"][0].version == "1"
    with pytest.raises(EntityExistsError):
        contract_store.create_step_run(
            StepRunRequest(
                id=_id(),
                pipeline_run_id=run_id,
                name="train",
                step_name="train",
                status=ExecutionStatus.RUNNING,
            )
        )
        contract_store.flush()  # a store may queue step records: their errors come here


def test_completions_written_behind_are_read_back_at_once(contract_store: Store) -> None:
    """Inside ``write_behind`` a completion may wait for its group commit, but every
    read through the store sees it (read-your-writes), and leaving the block commits it."""
    run_id = _run(contract_store, "behind")
    with contract_store.write_behind():
        ids = []
        for index in range(3):
            step_id = _id()
            ids.append(step_id)
            request = StepRunRequest(
                id=step_id,
                pipeline_run_id=run_id,
                name=f"s{index}",
                step_name="s",
                status=ExecutionStatus.RUNNING,
                cache_key=f"{index}" * 64,
            )
            created = contract_store.complete_step_run(
                step_id,
                StepRunUpdate(status=ExecutionStatus.COMPLETED),
                {"out": [_version(contract_store, "behind::s::out")]},
                create=[request],
            )
            assert list(created) == ["out"]
            assert contract_store.get_step_run(step_id).status is ExecutionStatus.COMPLETED
        hit = contract_store.find_cache_hit("1" * 64)
        assert hit is not None and hit.step_run_id == ids[1]
        contract_store.flush()
    steps = contract_store.list_step_runs(run_id)
    assert [steps[f"s{i}"].outputs["out"][0].version for i in range(3)] == ["1", "2", "3"]


def test_step_run_overview_reads_counts_edges_and_failures(contract_store: Store) -> None:
    run_id = _run(contract_store, "long")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = [ExecutionStatus.COMPLETED] * 6 + [ExecutionStatus.FAILED] * 2
    statuses[2] = ExecutionStatus.CACHED
    statuses[4] = ExecutionStatus.SKIPPED
    contract_store.create_step_runs(
        [
            StepRunRequest(
                id=_id(),
                pipeline_run_id=run_id,
                name=f"s{i}",
                step_name="s",
                status=status,
                start_time=start + timedelta(seconds=i),
            )
            for i, status in enumerate(statuses)
        ]
    )

    overview = contract_store.get_step_run_overview(run_id, edge=2, max_unsuccessful=2)

    assert overview.total == 8
    assert overview.status_counts == {"completed": 4, "cached": 1, "skipped": 1, "failed": 2}
    assert [s.name for s in overview.first] == ["s0", "s1"]
    assert [s.name for s in overview.last] == ["s6", "s7"]
    assert [s.name for s in overview.unsuccessful] == ["s4", "s6"]
    assert overview.unsuccessful_total == 3
    # The same answer as the default that reads every step run.
    everything = Store.get_step_run_overview(contract_store, run_id, edge=2, max_unsuccessful=2)
    assert overview.model_dump() == everything.model_dump()


def test_artifact_versions_number_up_and_named_versions(contract_store: Store) -> None:
    for _ in range(3):
        contract_store.create_artifact_version(_version(contract_store, "data"))
    named = contract_store.create_artifact_version(_version(contract_store, "data", version="gold"))
    assert named.version == "gold"
    assert contract_store.get_artifact_version("data", 2).version == "2"
    assert contract_store.get_artifact_version("data").id == named.id  # the latest
    assert contract_store.get_artifact("data").latest_version_number == 3
    with pytest.raises(EntityExistsError, match="'gold'"):
        contract_store.create_artifact_version(_version(contract_store, "data", version="gold"))
    with pytest.raises(EntityNotFoundError, match="has no version 9"):
        contract_store.get_artifact_version("data", 9)
    page = contract_store.list_artifact_versions(
        ArtifactVersionFilter(artifact_name="data", size=10)
    )
    assert page.total == 4


def test_unnamed_snapshots_are_deduplicated_by_content(contract_store: Store) -> None:
    pipeline_id = contract_store.get_or_create_pipeline("p").id
    stack_id = contract_store.get_default_stack().id
    spec = PipelineSpec(name="p", source="m.p", code_hash="h")

    def create(name: str | None = None) -> str:
        return contract_store.create_snapshot(
            SnapshotRequest(
                id=_id(),
                name=name,
                pipeline_id=pipeline_id,
                stack_id=stack_id,
                spec=spec,
                spec_hash=spec.content_hash(),
            )
        ).id

    assert create() == create()
    named = create("nightly")
    assert contract_store.get_snapshot("nightly").id == named
    assert contract_store.get_snapshot(named).spec == spec
    with pytest.raises(EntityExistsError, match="'nightly' already exists"):
        create("nightly")


def test_id_prefixes_resolve_and_ambiguity_is_reported(contract_store: Store) -> None:
    stack_id = contract_store.get_default_stack().id
    for suffix, name in (("1", "first"), ("2", "second")):
        contract_store.create_run(
            PipelineRunRequest(
                id=f"abcd0000-0000-4000-8000-00000000000{suffix}",
                name=name,
                pipeline_id=None,
                snapshot_id=None,
                stack_id=stack_id,
            )
        )
    with pytest.raises(EntityNotFoundError, match="'abcd' matches more than one"):
        contract_store.get_run("abcd")
    assert contract_store.get_run("abcd0000-0000-4000-8000-000000000002").name == "second"


def test_a_step_run_of_a_missing_run_is_a_conflict_not_a_duplicate(contract_store: Store) -> None:
    orphan = StepRunRequest(
        id=_id(), pipeline_run_id=_id(), name="s", step_name="s", status=ExecutionStatus.RUNNING
    )
    with pytest.raises(StoreConflictError) as caught:
        contract_store.create_step_runs([orphan])
        contract_store.flush()
    assert not caught.value.unique
    assert not isinstance(caught.value, EntityExistsError)


def test_timestamps_round_trip_as_aware_utc_and_sort_by_time(contract_store: Store) -> None:
    run_id = _run(contract_store, "timed")
    on_the_second = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    later = on_the_second + timedelta(microseconds=1)
    contract_store.update_run(run_id, PipelineRunUpdate(start_time=on_the_second, end_time=later))
    run = contract_store.get_run(run_id)
    assert run.start_time == on_the_second and run.start_time.tzinfo is not None
    assert run.end_time == later
    page = contract_store.list_runs(PipelineRunFilter(sort_by="asc:start_time"))
    assert page.items[0].id == run_id  # the only run with a start time sorts first


def test_sorting_by_an_unknown_field_names_the_sortable_ones(contract_store: Store) -> None:
    with pytest.raises(StoreError, match="Cannot sort by 'colour'.*created"):
        contract_store.list_runs(PipelineRunFilter(sort_by="desc:colour"))


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    from headrace.store.sql.store import SqlStore

    path = tmp_path / "store.db"
    path.write_bytes(b"not a database, just some bytes " * 100)
    with pytest.raises(StoreError, match=r"store\.db.*not a database"):
        SqlStore(f"sqlite:///{path}", default_artifact_path=str(tmp_path / "a"))
    assert path.read_bytes().startswith(b"not a database")  # left as it was


def test_sqlite_timestamps_are_stored_in_the_format_sqlalchemy_wrote() -> None:
    from headrace.store.sql.database import SqliteDatabase

    database = SqliteDatabase("sqlite:///:memory:")
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert database.encode_value("created", moment) == "2026-01-02 03:04:05.000000"
    assert database.encode_value("config", {"a": [1]}) == '{"a": [1]}'
    assert database.encode_value("status", ExecutionStatus.RUNNING) == "running"


def test_postgres_statements_use_the_driver_parameter_style(postgres_url: str) -> None:
    from headrace.store.sql.database import PostgresDatabase

    database = PostgresDatabase(postgres_url)
    sql = "SELECT :a::text WHERE x LIKE '%y' AND b = :b_1"
    assert database.prepare(sql) == "SELECT %(a)s::text WHERE x LIKE '%%y' AND b = %(b_1)s"


def test_step_records_apply_in_order_and_all_or_none(contract_store: Store) -> None:
    from headrace.models.wire import StepRunCompleted, StepRunsCreated, StepRunUpdated

    run_id = _run(contract_store, "batched")

    def started(name: str) -> StepRunRequest:
        return StepRunRequest(
            id=_id(), pipeline_run_id=run_id, name=name, step_name=name,
            status=ExecutionStatus.RUNNING,
        )  # fmt: skip

    a, b = started("a"), started("b")
    version = _version(contract_store, "batched::a::out")
    contract_store.apply_step_records(
        [
            StepRunsCreated(step_runs=[a]),
            StepRunCompleted(
                step_run_id=a.id,
                update=StepRunUpdate(status=ExecutionStatus.COMPLETED),
                outputs={"out": [version]},
            ),
            StepRunCompleted(
                step_run_id=b.id, update=StepRunUpdate(status=ExecutionStatus.FAILED), create=[b]
            ),
            StepRunUpdated(step_run_id=a.id, update=StepRunUpdate(run_metadata={"k": 1})),
        ]
    )
    steps = contract_store.list_step_runs(run_id)
    assert steps["a"].status is ExecutionStatus.COMPLETED
    assert [v.id for v in steps["a"].outputs["out"]] == [version.id]
    assert steps["b"].status is ExecutionStatus.FAILED
    assert contract_store.get_step_run(a.id).run_metadata == {"k": 1}
    # A refused record refuses its whole batch, and the error says which record it was.
    c, again = started("c"), started("a")
    with pytest.raises(EntityExistsError, match=r"Record 2 \(the start records of step\(s\) 'a'\)"):
        contract_store.apply_step_records(
            [StepRunsCreated(step_runs=[c]), StepRunsCreated(step_runs=[again])]
        )
    assert "c" not in contract_store.list_step_runs(run_id)
