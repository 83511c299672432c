"""``/api/v1/schedules``: snapshots the server runs by itself at their fire times.

Viewers read; editors and admins create, pause (``PUT {"active": false}``), resume,
change and delete. A schedule runs its snapshot under that snapshot's access rule: who
may not run the snapshot may not schedule it, nor change or delete its schedules. A
timing that does not make a schedule (a bad cron expression, an end before the start,
an interval of 0, no kind or several) answers 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from headrace.models import Page, Principal, ScheduleFilter
from headrace.models.schedule import ScheduleRequest, ScheduleResponse, ScheduleUpdate
from headrace.server.auth import require_run_snapshot
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import ScheduleQuery, to_filter
from headrace.store.base import Store

router = APIRouter(prefix="/schedules", tags=["schedules"])


@router.get("", response_model=Page[ScheduleResponse])
def list_schedules(
    store: StoreDep, caller: ReadAccess, query: Annotated[ScheduleQuery, Query()]
) -> Page[ScheduleResponse]:
    """Schedules, newest first; filter by ``pipeline_id``, ``snapshot_id``, ``active``."""
    return store.list_schedules(to_filter(query, ScheduleFilter))


@router.post(
    "",
    response_model=ScheduleResponse,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "The timing or the run configuration is invalid."}},
)
def create_schedule(
    store: StoreDep, caller: WriteAccess, body: ScheduleRequest
) -> ScheduleResponse:
    """Schedule a runnable snapshot; its run configuration is checked like a trigger's."""
    from headrace.execution.snapshot_runs import check_runnable
    from headrace.snapshots.parameters import validate_run_configuration

    if body.name is not None:
        check_name(body.name, "schedule")
    snapshot = store.get_snapshot(body.snapshot_id)
    require_run_snapshot(caller, snapshot)
    check_runnable(snapshot)
    validate_run_configuration(
        snapshot.name or snapshot.id,
        snapshot.spec,
        snapshot.extra["parameter_schema"],
        body.run_configuration,
        snapshot.extra["code"].get("modules"),
    )
    return store.create_schedule(body.model_copy(update={"snapshot_id": snapshot.id}))


@router.get("/{name_or_id}", response_model=ScheduleResponse)
def get_schedule(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> ScheduleResponse:
    """A schedule by name, id or unique id prefix."""
    return store.get_schedule(name_or_id)


@router.put(
    "/{name_or_id}",
    response_model=ScheduleResponse,
    responses={422: {"description": "The changed timing or run configuration is invalid."}},
)
def update_schedule(
    store: StoreDep, caller: WriteAccess, name_or_id: NameOrId, body: ScheduleUpdate
) -> ScheduleResponse:
    """Change a schedule: ``{"active": false}`` pauses it, ``{"active": true}`` resumes it
    (skipping the fire times it missed while paused)."""
    schedule = _guarded(store, caller, name_or_id)
    if body.name is not None:
        check_name(body.name, "schedule")
    if body.run_configuration is not None:
        from headrace.snapshots.parameters import validate_run_configuration

        snapshot = store.get_snapshot(schedule.snapshot_id)
        validate_run_configuration(
            snapshot.name or snapshot.id,
            snapshot.spec,
            snapshot.extra["parameter_schema"],
            body.run_configuration,
            snapshot.extra["code"].get("modules"),
        )
    return store.update_schedule(schedule.id, body)


@router.delete("/{name_or_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(store: StoreDep, caller: WriteAccess, name_or_id: NameOrId) -> None:
    """Delete a schedule; its snapshot and the runs it made stay."""
    schedule = _guarded(store, caller, name_or_id)
    store.delete_schedule(schedule.id)


def _guarded(store: Store, caller: Principal, name_or_id: str) -> ScheduleResponse:
    """The schedule, if the caller may run its snapshot (a schedule's changes are runs)."""
    schedule = store.get_schedule(name_or_id)
    require_run_snapshot(caller, store.get_snapshot(schedule.snapshot_id))
    return schedule
