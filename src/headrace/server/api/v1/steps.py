"""``/api/v1/steps``: step runs, their logs, and the per-step calls of a remote run.

A run driven by a client against this server queues its step records and sends them
every few milliseconds in one call (``POST /steps/batch``), applied in one transaction;
``POST /steps/{id}/complete`` records one step's end (with pending step runs and
outputs) on its own.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from headrace.exceptions import ArtifactError
from headrace.models import StepRunResponse, StepRunUpdate
from headrace.models.step_run import CacheHit
from headrace.models.wire import StepRecordBatch, StepRunBatch, StepRunCompletion
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId
from headrace.store.base import Store

router = APIRouter(prefix="/steps", tags=["steps"])


class CreatedIds(BaseModel):
    """Ids of the artifact versions a completion created, by output name."""

    outputs: dict[str, list[str]]


@router.post("", status_code=status.HTTP_204_NO_CONTENT)
def create_step_runs(store: StoreDep, caller: WriteAccess, body: StepRunBatch) -> None:
    """Record step runs in one transaction (all or none)."""
    store.create_step_runs(body.step_runs)


@router.post("/batch", status_code=status.HTTP_204_NO_CONTENT)
def apply_step_records(store: StoreDep, caller: WriteAccess, body: StepRecordBatch) -> None:
    """Apply a client's queued step records (``create``: step runs as they start,
    ``update``: a change of one, ``complete``: a step's end with its outputs) in order,
    in one transaction: all or none. A refused record refuses the batch, and the error
    names it."""
    store.apply_step_records(body.records)


@router.get("/cache_hit", response_model=CacheHit | None)
def find_cache_hit(
    store: StoreDep, caller: ReadAccess, cache_key: str, created_after: datetime | None = None
) -> CacheHit | None:
    """What reusing the newest successful step run with ``cache_key`` needs, or null."""
    return store.find_cache_hit(cache_key, created_after)


@router.get("/cached", response_model=StepRunResponse | None)
def find_cached_step_run(
    store: StoreDep, caller: ReadAccess, cache_key: str, created_after: datetime | None = None
) -> StepRunResponse | None:
    """The newest successful step run with ``cache_key``, or null."""
    return store.find_cached_step_run(cache_key, created_after)


@router.get("/{step_run_id}", response_model=StepRunResponse)
def get_step_run(store: StoreDep, caller: ReadAccess, step_run_id: NameOrId) -> StepRunResponse:
    """One step run with its inputs and outputs."""
    return store.get_step_run(step_run_id)


@router.get("/{step_run_id}/logs", response_class=PlainTextResponse)
def get_step_logs(store: StoreDep, caller: ReadAccess, step_run_id: NameOrId) -> str:
    """What the step printed and logged (empty when nothing was captured); while the
    step runs, what it has printed so far (written out about once a second)."""
    step = store.get_step_run(step_run_id)
    if not step.logs_uri and not step.status.is_finished:
        return _live_logs(store, step)
    try:
        return step.logs
    except OSError as exc:
        raise ArtifactError(
            f"The logs of step run {step.id} cannot be read at {step.logs_uri}: {exc}"
        ) from exc


@router.put("/{step_run_id}", status_code=status.HTTP_204_NO_CONTENT)
def update_step_run(
    store: StoreDep, caller: WriteAccess, step_run_id: NameOrId, body: StepRunUpdate
) -> None:
    """Change a step run's status, end time or error."""
    store.update_step_run(step_run_id, body)


@router.post("/{step_run_id}/complete", response_model=CreatedIds)
def complete_step_run(
    store: StoreDep, caller: WriteAccess, step_run_id: NameOrId, body: StepRunCompletion
) -> CreatedIds:
    """End a step in one transaction: pending records, outputs, status, metadata."""
    created = store.complete_step_run(
        step_run_id, body.update, body.outputs, body.create, body.model_version_id
    )
    return CreatedIds(outputs=created)


def _live_logs(store: Store, step: StepRunResponse) -> str:
    """The log a running step has written so far, or nothing yet."""
    from headrace.artifacts.loading import artifact_store_of
    from headrace.execution.logs import step_log_uri

    run = store.get_run(step.pipeline_run_id)
    artifact_store = artifact_store_of(store, run.stack_id)
    uri = step_log_uri(artifact_store, run.id, step.name)
    try:
        if not artifact_store.exists(uri):
            return ""
        with artifact_store.open(uri, "r") as handle:
            return str(handle.read())
    except OSError:
        return ""  # being rewritten, or the store is unreachable: the next poll reads it
