"""``/api/v1/pipeline_snapshots`` (and the hyphenated ``/api/v1/pipeline-snapshots``):
stored snapshots, and triggering runs of them.

A trigger's body is the run configuration itself (``{"steps": {...}}``) or
``{"run_configuration": {...}, "step_run": "<id>"}``. It answers 201 with the new run at
once, status ``queued``; the server's dispatcher launches it when a slot is free. A
configuration that does not fit the snapshot answers 422 listing every problem, a full
queue 429; nothing is recorded then.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, status
from pydantic import BaseModel

from headrace.exceptions import ConfigurationError, EntityNotFoundError
from headrace.models import (
    Page,
    PipelineRunResponse,
    Principal,
    SnapshotFilter,
    SnapshotRequest,
    SnapshotResponse,
)
from headrace.server.auth import require_run_snapshot, require_set_snapshot_access
from headrace.server.deps import ReadAccess, SettingsDep, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import SnapshotQuery, to_filter
from headrace.store.base import Store

router = APIRouter(tags=["snapshots"])
_WRAPPER_KEYS = frozenset({"run_configuration", "step_run"})

TriggerBody = Annotated[
    dict[str, Any],
    Body(
        description="The run configuration ({'steps': {...}, ...}), or "
        "{'run_configuration': {...}, 'step_run': '<step run id>'}.",
        openapi_examples={
            "configuration": {
                "value": {"steps": {"trainer": {"parameters": {"learning_rate": 0.01}}}}
            },
            "wrapped": {"value": {"run_configuration": {"steps": {}}, "step_run": None}},
        },
    ),
]


class EnsuredSnapshot(BaseModel):
    """The id of an unnamed snapshot."""

    id: str


def _paths(suffix: str) -> list[str]:
    return [f"/pipeline_snapshots{suffix}", f"/pipeline-snapshots{suffix}"]


def _route(method: str, suffix: str, **kwargs: Any) -> Any:
    """Register a handler under both spellings; the hyphenated one is left out of the
    OpenAPI document (same operation, same answers)."""

    def decorate(handler: Any) -> Any:
        for index, path in enumerate(_paths(suffix)):
            router.add_api_route(
                path,
                handler,
                methods=[method],
                include_in_schema=index == 0,
                operation_id=f"{handler.__name__}{'_hyphenated' if index else ''}",
                **kwargs,
            )
        return handler

    return decorate


@_route("GET", "", response_model=Page[SnapshotResponse])
def list_snapshots(
    store: StoreDep, caller: ReadAccess, query: Annotated[SnapshotQuery, Query()]
) -> Page[SnapshotResponse]:
    """Snapshots, newest first (named ones unless ``named_only=false``)."""
    return store.list_snapshots(to_filter(query, SnapshotFilter))


@_route("POST", "", response_model=SnapshotResponse, status_code=status.HTTP_201_CREATED)
def create_snapshot(
    store: StoreDep, caller: WriteAccess, body: SnapshotRequest, replace: bool = False
) -> SnapshotResponse:
    """Store a snapshot (``replace`` takes a taken name over, if the caller may run the
    snapshot holding it; only admins set who may run a snapshot)."""
    require_set_snapshot_access(caller, body)
    if body.name is not None:
        check_name(body.name, "snapshot")
        if replace:
            _guard_restricted(store, caller, body.name)
    return store.create_snapshot(body, replace=replace)


@_route("POST", "/ensure", response_model=EnsuredSnapshot)
def ensure_snapshot(store: StoreDep, caller: WriteAccess, body: SnapshotRequest) -> EnsuredSnapshot:
    """The id of the unnamed snapshot equal to the body, stored if it is new."""
    require_set_snapshot_access(caller, body)
    return EnsuredSnapshot(id=store.ensure_snapshot(body))


@_route("GET", "/{name_or_id}", response_model=SnapshotResponse)
def get_snapshot(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> SnapshotResponse:
    """A snapshot by name, id or unique id prefix."""
    return store.get_snapshot(name_or_id)


@_route("DELETE", "/{name_or_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_snapshot(store: StoreDep, caller: WriteAccess, name_or_id: NameOrId) -> None:
    """Delete a snapshot (if the caller may run it); its runs stay readable."""
    _guard_restricted(store, caller, name_or_id)
    store.delete_snapshot(name_or_id)


def _guard_restricted(store: Store, caller: Principal, name_or_id: str) -> None:
    """Only who may run a snapshot may replace or delete it: otherwise removing it
    would lift its limits."""
    try:
        snapshot = store.get_snapshot(name_or_id)
    except EntityNotFoundError:
        return  # nothing to guard; the store answers for a missing one
    require_run_snapshot(caller, snapshot)


@_route(
    "POST",
    "/{name_or_id}/runs",
    response_model=PipelineRunResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        422: {"description": "The run configuration does not fit the snapshot."},
        429: {"description": "The run queue is full; retry after Retry-After seconds."},
    },
)
def trigger_snapshot_run(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    caller: WriteAccess,
    name_or_id: NameOrId,
    body: TriggerBody,
    source: Annotated[
        Literal["rest", "cli", "sdk", "step", "dashboard"],
        Query(description="Who triggers: shown with the run's queue entry."),
    ] = "rest",
) -> PipelineRunResponse:
    """Queue a run of the snapshot with the given run configuration (status ``queued``;
    the server launches it when a slot is free). 429 with ``Retry-After`` when
    ``HEADRACE_SERVER_MAX_QUEUED_RUNS`` runs wait already; nothing is created then."""
    from headrace.server.run_queue import enqueue_snapshot_run

    configuration, step_run = _split_body(body)
    snapshot = store.get_snapshot(name_or_id)
    require_run_snapshot(caller, snapshot)  # the snapshot may name who runs it
    if step_run is not None:
        store.get_step_run(step_run)  # 404 for an unknown step run, before anything
    run = enqueue_snapshot_run(
        store,
        snapshot,
        configuration,
        source=source,
        triggered_by_step_run_id=step_run,
        max_queued=settings.max_queued_runs,
    )
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return run


def _split_body(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The run configuration and the triggering step run of a trigger's body."""
    if "run_configuration" not in body or not set(body) <= _WRAPPER_KEYS:
        return body, None
    configuration = body["run_configuration"]
    step_run = body.get("step_run")
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        raise ConfigurationError("'run_configuration' must be an object of run settings.")
    if step_run is not None and not isinstance(step_run, str):
        raise ConfigurationError("'step_run' must be the id of a step run, or null.")
    return configuration, step_run
