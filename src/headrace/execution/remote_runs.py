"""Runs whose driver runs elsewhere (a Kubernetes driver pod): start it, then follow.

The launching process has recorded the run; here it hands the driver the run's code
archive (made now when the run is not a snapshot's that records one), starts it, and,
when the caller waits, follows the run in the store with the usual progress until it
ends, raising ``RunFailedError`` as a run in this process would. While following it
keeps the run's heartbeat fresh until the driver claims the run (a driver pod may wait
for its image or a node), and asks the driver whether it is gone: a driver that ended
without ending the run ends it here, with the driver's reason.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headrace.enums import ExecutionStatus
from headrace.exceptions import OrchestratorError, RunFailedError, SnapshotError, StoreError
from headrace.execution.heartbeat import heartbeat_interval
from headrace.execution.progress import announce_background_run, open_progress
from headrace.execution.run_follow import follow_run
from headrace.execution.run_steps import code_location
from headrace.models import PipelineRunResponse, PipelineRunUpdate, StepRunUpdate
from headrace.store.base import Store
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.execution.orchestrators.base import BaseOrchestrator, RemoteDriver
    from headrace.execution.run_state import RunState

logger = headrace_logger()


def run_remotely(
    state: RunState,
    orchestrator: BaseOrchestrator,
    driver: RemoteDriver,
    *,
    synchronous: bool,
    timeout: float | None = None,
    report: bool = True,
) -> PipelineRunResponse:
    """Start ``driver`` for ``state``'s recorded run; with ``synchronous``, follow the
    run until it ends (at most ``timeout`` seconds) and raise if it did not complete.

    Raises:
        RunFailedError: the driver could not be started (the run is recorded failed),
            or the run ended other than completed.
        TimeoutError: ``timeout`` passed first (the run goes on).
    """
    store, run = state.store, state.run
    try:
        driver.start(code_location(state, orchestrator))
    except (OrchestratorError, SnapshotError, StoreError, OSError) as exc:
        driver.close()
        failed = store.update_run(
            run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.FAILED,
                end_time=datetime.now(UTC),
                status_reason=str(exc),
            ),
        )
        error = RunFailedError(failed.name, [], str(exc))
        error.run = failed  # type: ignore[attr-defined]
        raise error from exc
    if not synchronous:
        driver.close()
        announce_background_run(run, state.spec.name, store.get_stack(run.stack_id).name)
        return store.get_run(run.id)
    watcher = _Watcher(state, driver)
    try:
        final = follow_run(
            store,
            run.id,
            open_progress() if report else None,
            timeout=timeout or None,
            on_poll=watcher,
        )
    finally:
        driver.close()
    if final.status is not ExecutionStatus.COMPLETED:
        raise _failure(final)
    return final


class _Watcher:
    """Called at each read of the followed run: heartbeats until the driver claims the
    run, and ends the run when the driver is gone."""

    def __init__(self, state: RunState, driver: RemoteDriver) -> None:
        self.state = state
        self.driver = driver
        self.interval = heartbeat_interval()
        self.last_beat = time.monotonic()

    def __call__(self, run: PipelineRunResponse) -> PipelineRunResponse:
        store = self.state.store
        reason = self.driver.gone()
        if reason is not None:
            return end_run(store, run.id, f"The run was ended: {reason}.")
        now = time.monotonic()
        if run.status is ExecutionStatus.INITIALIZING and now - self.last_beat >= self.interval:
            self.last_beat = now
            return store.update_run(run.id, PipelineRunUpdate(heartbeat=datetime.now(UTC)))
        return run


def end_run(store: Store, run_id: str, reason: str) -> PipelineRunResponse:
    """Record a run whose driver is gone, and its unended steps, as failed (unless it
    ended meanwhile)."""
    run = store.get_run(run_id)
    if run.status.is_finished:
        return run
    now = datetime.now(UTC)
    for step_run in store.list_step_runs(run_id).values():
        if not step_run.status.is_finished:
            store.update_step_run(
                step_run.id,
                StepRunUpdate(status=ExecutionStatus.FAILED, end_time=now, status_reason=reason),
            )
    return store.update_run(
        run_id,
        PipelineRunUpdate(status=ExecutionStatus.FAILED, end_time=now, status_reason=reason),
    )


def _failure(run: PipelineRunResponse) -> RunFailedError:
    """The error a run that did not complete raises, from what its steps recorded."""
    steps = run.steps
    failed = [name for name, s in steps.items() if s.status is ExecutionStatus.FAILED]
    first = next((steps[name].error for name in failed if steps[name].error), None)
    stopped = run.status is ExecutionStatus.STOPPED
    if first is not None:
        detail = f"First error: {first.type.rpartition('.')[2]}: {first.message}"
    elif run.status_reason:
        detail = f"Reason: {run.status_reason}"
    else:
        detail = ""
    error = RunFailedError(run.name, failed, detail, stopped=stopped)
    error.run = run  # type: ignore[attr-defined]
    return error
