"""The server's scheduler over a real SQLite store, with real (short) clocks: interval,
end time, run once, pause, catch-up of missed fire times, and two loops sharing one
database firing each fire time once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headrace.config.spec import PipelineSpec
from headrace.exceptions import ConfigurationError
from headrace.models import SnapshotRequest
from headrace.models.schedule import ScheduleRequest, ScheduleResponse, ScheduleUpdate
from headrace.server.scheduler_loop import (
    ENV_POLL_SECONDS,
    SchedulerLoop,
    fire_due,
    poll_interval,
)
from headrace.store.sql.store import SqlStore


class Fired:
    """A trigger that records what it was called with (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[ScheduleResponse] = []
        self._lock = threading.Lock()

    def __call__(self, schedule: ScheduleResponse) -> None:
        with self._lock:
            self.calls.append(schedule)

    def fire_times(self, schedule_id: str) -> list[datetime]:
        with self._lock:
            return [c.last_run_time for c in self.calls if c.id == schedule_id]  # type: ignore[misc]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = SqlStore(f"sqlite:///{tmp_path / 's.db'}", default_artifact_path=str(tmp_path / "a"))
    try:
        yield opened
    finally:
        opened.close()


def _schedule(store: SqlStore, **timing: object) -> ScheduleResponse:
    pipeline_id = store.get_or_create_pipeline("p").id
    spec = PipelineSpec(name="p", source="m.p", code_hash="h")
    snapshot = store.create_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            name=f"s-{uuid.uuid4().hex[:6]}",
            pipeline_id=pipeline_id,
            stack_id=store.get_default_stack().id,
            spec=spec,
            spec_hash=spec.content_hash(),
            runnable=True,
        )
    )
    return store.create_schedule(ScheduleRequest(snapshot_id=snapshot.id, **timing))  # type: ignore[arg-type]


def test_an_interval_schedule_fires_once_per_fire_time_until_its_end(store: SqlStore) -> None:
    start = datetime.now(UTC) + timedelta(seconds=1.5)
    schedule = _schedule(
        store,
        interval_second=0.3,
        start_time=start,
        end_time=start + timedelta(seconds=0.95),
        catchup=True,  # a poll delayed by a busy machine must not skip a fire time here
    )
    assert schedule.next_run_time == start
    fired = Fired()
    loop = SchedulerLoop(store, fired, interval=0.05).start()
    try:
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 1.5)
    finally:
        loop.close()
    times = fired.fire_times(schedule.id)
    assert times == [start + timedelta(seconds=0.3 * k) for k in range(4)]
    done = store.get_schedule(schedule.id)
    assert done.next_run_time is None and done.finished
    assert done.last_run_time == times[-1]


def test_run_once_fires_once_and_a_paused_schedule_not_at_all(store: SqlStore) -> None:
    once = _schedule(store, run_once_start_time=datetime.now(UTC) + timedelta(seconds=0.2))
    paused = _schedule(store, interval_second=0.1)
    store.update_schedule(paused.id, ScheduleUpdate(active=False))
    fired = Fired()
    loop = SchedulerLoop(store, fired, interval=0.05).start()
    try:
        time.sleep(0.8)
    finally:
        loop.close()
    assert fired.fire_times(once.id) == [once.next_run_time]
    assert fired.fire_times(paused.id) == []
    assert store.get_schedule(once.id).finished


def test_missed_fire_times_run_once_after_a_restart(store: SqlStore) -> None:
    schedule = _schedule(store, interval_second=0.2)
    first = schedule.next_run_time
    assert first is not None
    time.sleep(1.1)  # the "server" was down for five fire times
    fired = Fired()
    assert fire_due(store, fired) == 1
    assert fired.fire_times(schedule.id) == [first]
    after = store.get_schedule(schedule.id)
    assert after.next_run_time is not None and after.next_run_time > datetime.now(UTC)
    assert fire_due(store, fired) == 0


def test_with_catchup_every_missed_fire_time_runs(store: SqlStore) -> None:
    schedule = _schedule(store, interval_second=0.2, catchup=True)
    first = schedule.next_run_time
    assert first is not None
    time.sleep(0.9)
    fired = Fired()
    while fire_due(store, fired):
        pass
    times = fired.fire_times(schedule.id)
    assert times[:5] == [first + timedelta(seconds=0.2 * k) for k in range(5)]


def test_resuming_skips_the_fire_times_missed_while_paused(store: SqlStore) -> None:
    schedule = _schedule(store, interval_second=0.2)
    store.update_schedule(schedule.id, ScheduleUpdate(active=False))
    time.sleep(0.5)
    resumed = store.update_schedule(schedule.id, ScheduleUpdate(active=True))
    assert resumed.next_run_time is not None
    assert resumed.next_run_time >= resumed.updated - timedelta(milliseconds=1)


def test_two_loops_on_one_database_fire_each_fire_time_once(
    store: SqlStore, tmp_path: Path
) -> None:
    other = SqlStore(store.url)
    schedule = _schedule(store, interval_second=0.1, catchup=True)
    fired = Fired()
    loops = [SchedulerLoop(s, fired, interval=0.01).start() for s in (store, other)]
    try:
        time.sleep(1.5)
    finally:
        for loop in loops:
            loop.close()
        other.close()
    times = fired.fire_times(schedule.id)
    assert len(times) >= 10
    assert len(times) == len(set(times))


def test_a_failing_trigger_does_not_stop_the_others(store: SqlStore) -> None:
    broken = _schedule(store, interval_second=60)
    fine = _schedule(store, interval_second=60)
    seen: list[str] = []

    def trigger(schedule: ScheduleResponse) -> None:
        seen.append(schedule.id)
        if schedule.id == broken.id:
            raise RuntimeError("snapshot gone")

    assert fire_due(store, trigger) == 2
    assert sorted(seen) == sorted([broken.id, fine.id])


def test_the_poll_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert poll_interval() == 1.0
    monkeypatch.setenv(ENV_POLL_SECONDS, "0.25")
    assert poll_interval() == 0.25
    monkeypatch.setenv(ENV_POLL_SECONDS, "soon")
    with pytest.raises(ConfigurationError, match=ENV_POLL_SECONDS):
        poll_interval()
