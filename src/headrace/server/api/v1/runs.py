"""``/api/v1/runs``: pipeline runs with their steps and status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from headrace.models import (
    Page,
    PipelineRunFilter,
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    StepRunResponse,
)
from headrace.models.step_run import StepRunOverview
from headrace.server.auth import require_run_snapshot
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import RunQuery, to_filter
from headrace.store.base import RunQueueStore
from headrace.utils.factories import new_dict

router = APIRouter(prefix="/runs", tags=["runs"])


class PipelineRunDetail(PipelineRunResponse):
    """A run with its step runs (by invocation id), when hydrated."""

    steps_by_name: dict[str, StepRunResponse] | None = Field(
        default_factory=new_dict, serialization_alias="steps", validation_alias="steps"
    )


@router.get("", response_model=Page[PipelineRunResponse])
def list_runs(
    store: StoreDep, caller: ReadAccess, query: Annotated[RunQuery, Query()]
) -> Page[PipelineRunResponse]:
    """Runs, newest first (``status=in:running,failed``, ``pipeline_id=...``, ...)."""
    return store.list_runs(to_filter(query, PipelineRunFilter))


@router.post("", response_model=PipelineRunResponse, status_code=status.HTTP_201_CREATED)
def create_run(
    store: StoreDep, caller: WriteAccess, body: PipelineRunRequest
) -> PipelineRunResponse:
    """Record a run that a client executes itself (``RestStore``); a run of a snapshot
    that names who may run it is refused to everyone else."""
    check_name(body.name, "pipeline run")
    if body.snapshot_id is not None:
        require_run_snapshot(caller, store.get_snapshot(body.snapshot_id))
    return store.create_run(body)


@router.get("/{name_or_id}", response_model=PipelineRunDetail, response_model_by_alias=True)
def get_run(
    store: StoreDep, caller: ReadAccess, name_or_id: NameOrId, hydrate: bool = True
) -> PipelineRunDetail:
    """A run by name, id or id prefix; with ``hydrate`` (default) its step runs too."""
    run = store.get_run(name_or_id)
    steps = store.list_step_runs(run.id) if hydrate else None
    return PipelineRunDetail.model_validate({**run.model_dump(), "steps": steps})


@router.put("/{run_id}", response_model=PipelineRunResponse)
def update_run(
    store: StoreDep, caller: WriteAccess, run_id: NameOrId, body: PipelineRunUpdate
) -> PipelineRunResponse:
    """Change a run's status, times or outputs."""
    return store.update_run(run_id, body)


@router.get("/{name_or_id}/steps", response_model=dict[str, StepRunResponse])
def list_run_steps(
    store: StoreDep, caller: ReadAccess, name_or_id: NameOrId
) -> dict[str, StepRunResponse]:
    """The run's step runs by invocation id, in the order they started."""
    return store.list_step_runs(store.get_run(name_or_id).id)


class StopRequest(BaseModel):
    """How to stop a run."""

    graceful: bool = Field(
        default=False,
        description="Start nothing new and let running steps finish (else interrupt them).",
    )


@router.post("/{name_or_id}/stop", response_model=PipelineRunResponse)
def stop_run(
    store: StoreDep,
    caller: WriteAccess,
    name_or_id: NameOrId,
    body: Annotated[StopRequest | None, Body()] = None,
) -> PipelineRunResponse:
    """Stop a run: a queued one ends ``stopped`` at once and never starts; a running
    one is asked to stop (its runner notices within seconds). An ended run is returned
    unchanged."""
    run = store.get_run(name_or_id)
    if run.snapshot_id is not None:
        require_run_snapshot(caller, store.get_snapshot(run.snapshot_id))
    return store.stop_run(run.id, graceful=(body or StopRequest()).graceful)


@router.get("/{name_or_id}/logs", response_class=PlainTextResponse)
def get_runner_logs(
    request: Request, store: StoreDep, caller: ReadAccess, name_or_id: NameOrId
) -> str:
    """What the runner a server launched for the run printed: kept in the database once
    the run ended; while it runs, read from the runner by the server that can (the one
    that launched it on its machine, or any server for a cluster's runner), else the
    copy the launching server keeps in the database (up to a second behind). Step logs
    are at ``/api/v1/steps/{id}/logs``."""
    run = store.get_run(name_or_id)
    kept = store.get_runner_logs(run.id)
    if kept or not isinstance(store, RunQueueStore):
        return kept
    entry = store.get_queue_entry(run.id)
    manager = getattr(request.app.state, "workload_manager", None)
    if entry is None or entry.handle is None:
        return ""
    if manager is not None:
        try:
            text = str(manager.logs(entry.handle))
        except Exception:  # another server's runner, or a manager that cannot fetch them
            text = ""
        if text:
            return text
    return store.live_runner_output(run.id)


@router.get("/{name_or_id}/steps/overview", response_model=StepRunOverview)
def run_steps_overview(
    store: StoreDep,
    caller: ReadAccess,
    name_or_id: NameOrId,
    edge: Annotated[int, Query(ge=0, le=1000)] = 10,
    max_unsuccessful: Annotated[int, Query(ge=0, le=1000)] = 50,
) -> StepRunOverview:
    """Step counts by status, the first and last ``edge`` step runs and the first
    ``max_unsuccessful`` that did not succeed: a long run without every step."""
    run_id = store.get_run(name_or_id).id
    return store.get_step_run_overview(run_id, edge=edge, max_unsuccessful=max_unsuccessful)
