"""The Store contract for schedules (SqlStore on SQLite and PostgreSQL, RestStore over a
real server): create with the first fire time, refusals naming the field, list filters,
pause and resume, delete, and the scheduler's compare-and-set claim."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from headrace.config.spec import PipelineSpec
from headrace.exceptions import EntityExistsError, EntityNotFoundError, ScheduleError
from headrace.models import ScheduleFilter, SnapshotRequest
from headrace.models.schedule import ScheduleRequest, ScheduleUpdate
from headrace.store.base import SchedulerStore, Store

EMPTY_SCHEMA = {
    "type": "object",
    "properties": {
        "parameters": {"type": "object", "properties": {}},
        "steps": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}


def _snapshot(store: Store, name: str = "nightly", pipeline: str = "p") -> str:
    """A runnable snapshot (what a server accepts a schedule of)."""
    pipeline_id = store.get_or_create_pipeline(pipeline).id
    spec = PipelineSpec(name=pipeline, source=f"m.{pipeline}", code_hash="h")
    return store.create_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            name=name,
            pipeline_id=pipeline_id,
            stack_id=store.get_default_stack().id,
            spec=spec,
            spec_hash=spec.content_hash(),
            runnable=True,
            extra={"code": {"modules": []}, "parameter_schema": EMPTY_SCHEMA},
        )
    ).id


def test_a_cron_schedule_is_stored_with_its_first_fire_time(contract_store: Store) -> None:
    snapshot_id = _snapshot(contract_store)
    before = datetime.now(UTC)
    created = contract_store.create_schedule(
        ScheduleRequest(name="daily", snapshot_id=snapshot_id, cron_expression="0 2 * * *")
    )
    assert created.name == "daily" and created.active and created.kind == "cron"
    assert created.snapshot_name == "nightly" and created.pipeline_name == "p"
    assert created.pipeline_id == contract_store.get_snapshot(snapshot_id).pipeline_id
    assert created.next_run_time is not None
    assert before < created.next_run_time <= before + timedelta(days=1)
    assert (created.next_run_time.hour, created.next_run_time.minute) == (2, 0)
    assert created.last_run_time is None
    assert contract_store.get_schedule("daily").id == created.id
    assert contract_store.get_schedule(created.id[:8]).name == "daily"
    with pytest.raises(EntityExistsError, match="'daily' already exists"):
        contract_store.create_schedule(
            ScheduleRequest(name="daily", snapshot_id=snapshot_id, interval_second=60)
        )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"cron_expression": "every day at two"}, "cron_expression"),
        ({"interval_second": 0}, "interval_second"),
        ({"interval_second": -5}, "interval_second"),
        ({}, "a schedule needs one of cron_expression"),
        ({"cron_expression": "* * * * *", "interval_second": 5}, "got cron_expression and"),
        (
            {
                "interval_second": 5,
                "start_time": datetime(2030, 1, 2, tzinfo=UTC),
                "end_time": datetime(2030, 1, 1, tzinfo=UTC),
            },
            "end_time",
        ),
    ],
)
def test_invalid_timings_are_refused_naming_the_field(
    contract_store: Store, fields: dict[str, object], named: str
) -> None:
    snapshot_id = _snapshot(contract_store)
    with pytest.raises(ScheduleError, match=named):
        contract_store.create_schedule(ScheduleRequest(snapshot_id=snapshot_id, **fields))  # type: ignore[arg-type]
    assert contract_store.list_schedules(ScheduleFilter()).total == 0


def test_list_filters_pause_resume_and_delete(contract_store: Store) -> None:
    first = _snapshot(contract_store, "one", "p1")
    second = _snapshot(contract_store, "two", "p2")
    a = contract_store.create_schedule(ScheduleRequest(snapshot_id=first, interval_second=3600))
    b = contract_store.create_schedule(ScheduleRequest(snapshot_id=second, interval_second=60))
    assert a.name.startswith("one-")  # named after its snapshot by default
    assert contract_store.list_schedules(ScheduleFilter()).total == 2
    by_snapshot = contract_store.list_schedules(ScheduleFilter(snapshot_id=second))
    assert [s.id for s in by_snapshot] == [b.id]
    by_pipeline = contract_store.list_schedules(ScheduleFilter(pipeline_id=a.pipeline_id))
    assert [s.id for s in by_pipeline] == [a.id]

    paused = contract_store.update_schedule(a.name, ScheduleUpdate(active=False))
    assert not paused.active
    assert [s.id for s in contract_store.list_schedules(ScheduleFilter(active=False))] == [a.id]
    assert [s.id for s in contract_store.list_schedules(ScheduleFilter(active=True))] == [b.id]
    resumed = contract_store.update_schedule(a.id, ScheduleUpdate(active=True))
    assert resumed.active and resumed.next_run_time is not None
    assert resumed.next_run_time >= paused.updated

    retimed = contract_store.update_schedule(
        b.id, ScheduleUpdate(interval_second=None, cron_expression="30 4 * * *")
    )
    assert retimed.kind == "cron" and retimed.next_run_time is not None
    assert (retimed.next_run_time.hour, retimed.next_run_time.minute) == (4, 30)
    with pytest.raises(ScheduleError, match="cron_expression"):
        contract_store.update_schedule(b.id, ScheduleUpdate(cron_expression="61 * * * *"))

    contract_store.delete_schedule(a.id)
    with pytest.raises(EntityNotFoundError):
        contract_store.get_schedule(a.id)
    with pytest.raises(EntityNotFoundError):
        contract_store.delete_schedule(a.id)
    assert contract_store.get_snapshot(first).name == "one"  # the snapshot stays


def test_deleting_a_snapshot_deletes_its_schedules(contract_store: Store) -> None:
    snapshot_id = _snapshot(contract_store)
    schedule = contract_store.create_schedule(
        ScheduleRequest(snapshot_id=snapshot_id, interval_second=60)
    )
    contract_store.delete_snapshot(snapshot_id)
    with pytest.raises(EntityNotFoundError):
        contract_store.get_schedule(schedule.id)


def test_a_schedule_of_a_missing_snapshot_is_refused(contract_store: Store) -> None:
    with pytest.raises((ScheduleError, EntityNotFoundError)):
        contract_store.create_schedule(
            ScheduleRequest(snapshot_id=str(uuid.uuid4()), interval_second=60)
        )


def test_each_fire_time_is_claimed_once(sql_store: Store) -> None:
    assert isinstance(sql_store, SchedulerStore)
    snapshot_id = _snapshot(sql_store)
    schedule = sql_store.create_schedule(
        ScheduleRequest(snapshot_id=snapshot_id, interval_second=60)
    )
    fire_time = schedule.next_run_time
    assert fire_time is not None
    assert [s.id for s in sql_store.due_schedules(fire_time)] == [schedule.id]
    assert sql_store.due_schedules(fire_time - timedelta(seconds=1)) == []
    following = fire_time + timedelta(seconds=60)
    assert sql_store.claim_schedule_fire(schedule.id, fire_time, following)
    assert not sql_store.claim_schedule_fire(schedule.id, fire_time, following)
    claimed = sql_store.get_schedule(schedule.id)
    assert claimed.next_run_time == following and claimed.last_run_time == fire_time
    sql_store.update_schedule(schedule.id, ScheduleUpdate(active=False))
    assert sql_store.due_schedules(following + timedelta(hours=1)) == []
    assert not sql_store.claim_schedule_fire(schedule.id, following, None)
