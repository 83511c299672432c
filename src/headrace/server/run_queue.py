"""Every run a server starts goes through here: validated, then recorded ``queued``.

``enqueue_snapshot_run`` is what the REST trigger (and so the CLI and the SDK through a
server), the scheduler, steps triggering snapshots and the dashboard call. It never
starts anything: the dispatcher (``headrace.server.dispatcher``) launches queued runs in
order, within the concurrency limit.
"""

from __future__ import annotations

from typing import Any

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.exceptions import ConfigurationError
from headrace.execution.snapshot_runs import record_snapshot_run
from headrace.models import PipelineRunRequest, PipelineRunResponse, SnapshotResponse
from headrace.server.settings import queue_limits
from headrace.store.base import RunQueueStore, Store

SOURCES = frozenset({"rest", "cli", "sdk", "schedule", "step", "dashboard"})


def enqueue_snapshot_run(
    store: Store,
    snapshot: SnapshotResponse,
    configuration: PipelineRunConfiguration | dict[str, Any] | None,
    *,
    source: str,
    triggered_by_step_run_id: str | None = None,
    schedule_id: str | None = None,
    max_queued: int | None = None,
) -> PipelineRunResponse:
    """Validate ``configuration`` against ``snapshot`` and queue a run of it.

    ``max_queued`` defaults to ``HEADRACE_SERVER_MAX_QUEUED_RUNS`` (the server passes
    its own setting).

    Raises:
        RunConfigurationError: the configuration does not fit (422); nothing recorded.
        QueueFullError: ``max_queued`` runs wait already (429); nothing recorded.
    """
    if source not in SOURCES:
        raise ConfigurationError(
            f"Run source {source!r} is not one of {', '.join(sorted(SOURCES))}."
        )
    if not isinstance(store, RunQueueStore):
        raise ConfigurationError("Runs can only be queued in a SQL store (a server's database).")
    queue: RunQueueStore = store
    limit = max_queued if max_queued is not None else queue_limits().max_queued_runs

    def create(request: PipelineRunRequest) -> PipelineRunResponse:
        return queue.enqueue_run(request, source=source, schedule_id=schedule_id, max_queued=limit)

    return record_snapshot_run(
        store,
        snapshot,
        configuration,
        triggered_by_step_run_id=triggered_by_step_run_id,
        create=create,
    )
