"""Scheduling a pipeline: ``my_pipeline.with_options(schedule=Schedule(...))()``.

Instead of running, the call stores a named, runnable snapshot of the pipeline (its
code archived, as ``create_snapshot`` does) and a schedule of that snapshot on the
headrace server the store talks to; the server's scheduler starts the runs. A local
store has no server to fire anything, so a schedule there is refused before anything
is stored.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from headrace.exceptions import EntityExistsError, EntityNotFoundError, ScheduleError
from headrace.store.base import Store
from headrace.utils import terminal

if TYPE_CHECKING:
    from headrace.config.schedule import Schedule
    from headrace.dsl.compiler import CompiledPipeline
    from headrace.models.schedule import ScheduleRequest, ScheduleResponse


def refuse_without_scheduler(store: Store, pipeline_name: str) -> None:
    """Raise unless schedules stored in ``store`` are fired by a server.

    Raises:
        ScheduleError: saying how to start a server and connect to it.
    """
    if store.has_scheduler:
        return
    raise ScheduleError(
        f"Pipeline {pipeline_name!r} was given a schedule, but the store in use "
        f"({store.url}) is a local database: only a headrace server runs schedules, so "
        "nothing was stored. Start one with `headrace server start` (it keeps running and "
        "fires the schedules), connect to it with `headrace login http://127.0.0.1:8237` "
        "(or set HEADRACE_STORE_URL and HEADRACE_STORE_API_KEY), and run this again."
    )


def schedule_pipeline(store: Store, compiled: CompiledPipeline) -> ScheduleResponse:
    """Store a snapshot of ``compiled`` and a schedule of it (``compiled.run_config.schedule``).

    The snapshot is named after the schedule; it is deleted again if the schedule is
    refused, so a refused schedule leaves nothing behind.

    Raises:
        ScheduleError: the store has no scheduler, or the server refused the timing.
        EntityExistsError: the schedule's name (or a snapshot of that name) is taken.
    """
    from headrace.dsl.compiler import CompiledPipeline
    from headrace.snapshots.create import create_snapshot

    schedule = compiled.run_config.schedule
    assert schedule is not None
    spec_name = compiled.spec.name
    refuse_without_scheduler(store, spec_name)
    schedule_id = str(uuid.uuid4())
    name = schedule.name or f"{spec_name}-schedule-{schedule_id[:8]}"
    _refuse_taken_name(store, name)
    run_config = compiled.run_config.model_copy(update={"schedule": None})
    run_config.model_fields_set.discard("schedule")
    unscheduled = CompiledPipeline(compiled.spec, compiled.objects, run_config)
    snapshot = create_snapshot(
        store,
        unscheduled,
        name,
        description=f"Runs of schedule {name!r}.",
    )
    try:
        created = store.create_schedule(_request(schedule, schedule_id, name, snapshot.id))
    except BaseException:
        store.delete_snapshot(snapshot.id)
        raise
    announce(created)
    return created


def _request(schedule: Schedule, schedule_id: str, name: str, snapshot_id: str) -> ScheduleRequest:
    """The store's request for ``schedule``: its timing in UTC, the interval in seconds."""
    from headrace.models.schedule import ScheduleRequest

    timing = schedule.timing()
    return ScheduleRequest(
        id=schedule_id,
        name=name,
        snapshot_id=snapshot_id,
        cron_expression=timing.cron_expression,
        start_time=timing.start_time,
        end_time=timing.end_time,
        interval_second=timing.interval_second,
        run_once_start_time=timing.run_once_start_time,
        catchup=schedule.catchup,
    )


def _refuse_taken_name(store: Store, name: str) -> None:
    """Refuse a taken name before the snapshot is stored (the store checks it again)."""
    try:
        taken = store.get_schedule(name)
    except EntityNotFoundError:
        return
    raise EntityExistsError(
        f"A schedule named {name!r} already exists (id {taken.id}); choose another name, "
        f"or delete it first (headrace pipeline schedule delete {name})."
    )


def describe_timing(schedule: ScheduleResponse) -> str:
    """``cron '0 2 * * *' (UTC)``, ``every 3600 s`` or ``once at ...``, with its bounds."""
    if schedule.cron_expression is not None:
        text = f"cron {schedule.cron_expression!r} (UTC)"
    elif schedule.interval_second is not None:
        text = f"every {schedule.interval_second:g} s"
    else:
        moment = schedule.run_once_start_time
        text = f"once at {moment.isoformat() if moment else '?'}"
    if schedule.start_time is not None:
        text += f", from {schedule.start_time.isoformat()}"
    if schedule.end_time is not None:
        text += f", until {schedule.end_time.isoformat()}"
    return text


def announce(schedule: ScheduleResponse) -> None:
    """Say what was scheduled, when it runs first, and how to manage it."""
    if terminal.configure_verbosity() > logging.INFO:
        return
    upcoming = schedule.next_run_time.isoformat() if schedule.next_run_time else "never"
    terminal.write_line(
        f"Scheduled pipeline {schedule.pipeline_name!r}: schedule {schedule.name!r} "
        f"(id {schedule.id}) runs snapshot {schedule.snapshot_name!r} "
        f"{describe_timing(schedule)}; next run at {upcoming}."
    )
    terminal.write_line(
        f"Manage it with: headrace pipeline schedule describe|pause|resume|delete {schedule.name}"
    )
