"""Follow a run that executes in another process (a snapshot run, a queued run) and show
its progress with the same events as a run in this process.

The run is read from the store a few times a second; a step is reported started when its
record first shows it running and finished when its record has a final status, with the
duration the record holds. While the run has not started (its runner process is starting,
or it waits in a queue) that is said once, with its status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from headrace.enums import ExecutionStatus
from headrace.execution.progress import RunProgress
from headrace.models import PipelineRunResponse, StepRunResponse
from headrace.store.base import Store

POLL_INTERVAL_S = 0.2
_RUNNING = (ExecutionStatus.RUNNING, ExecutionStatus.RETRYING)


def follow_run(
    store: Store,
    run_id: str,
    progress: RunProgress | None,
    timeout: float | None = None,
    on_poll: Callable[[PipelineRunResponse], PipelineRunResponse] | None = None,
) -> PipelineRunResponse:
    """Report the run's progress (``None``: show nothing) until it ends; returns the
    finished run. ``on_poll`` sees the run each time it is read and returns it as it is
    then (e.g. ended because its driver is known to be gone).

    Raises:
        TimeoutError: ``timeout`` seconds passed first (the run goes on).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, ExecutionStatus] = {}
    started = waiting = False
    try:
        while True:
            run = store.get_run(run_id)
            if on_poll is not None and not run.status.is_finished:
                run = on_poll(run)
            if progress is None:
                if run.status.is_finished:
                    return run
            elif not started and run.status in (*_RUNNING, *_finished()):
                started = True
                _report_start(store, run, progress)
            elif not started and not waiting:
                waiting = True
                progress.emit(
                    logging.INFO,
                    f"Waiting for run {run.name!r} to start (status: {run.status.value}).",
                    None,
                )
            if progress is not None and started:
                _report_steps(store.list_step_runs(run.id), seen, progress)
            if progress is not None and run.status.is_finished:
                progress.run_finished(run)
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"Run {run.name!r} did not finish within {timeout} s "
                    f"(status: {run.status.value})."
                )
            time.sleep(POLL_INTERVAL_S)
    finally:
        if progress is not None:
            progress.close()


def _finished() -> tuple[ExecutionStatus, ...]:
    return tuple(status for status in ExecutionStatus if status.is_finished)


def _report_start(store: Store, run: PipelineRunResponse, progress: RunProgress) -> None:
    if run.snapshot_id is None:
        return
    spec = store.get_snapshot(run.snapshot_id).spec
    progress.run_started(run, spec, store.get_stack(run.stack_id).name)


def _report_steps(
    steps: dict[str, StepRunResponse], seen: dict[str, ExecutionStatus], progress: RunProgress
) -> None:
    for name, step in steps.items():
        previous = seen.get(name)
        if previous is not None and previous.is_finished:
            continue
        seen[name] = step.status
        if step.status in _RUNNING and previous is None:
            progress.step_started(name, step.id)
        elif step.status.is_finished:
            error = f"{step.error.type.rsplit('.', 1)[-1]}: " if step.error else ""
            message = step.error.message.strip().splitlines() if step.error else []
            line = f"{error}{message[0]}" if message else error.rstrip(": ") or None
            progress.step_finished(name, step.status, line, step.status_reason, step.duration)
