"""Run a step in a forked child process (the local orchestrator's process option).

For CPU-bound Python steps that threads cannot run in parallel. The child inherits the
run's state, runs the ordinary StepRunner on its own database connection, and sends back
the step's status and output records. Stopping a run (FAIL_FAST) terminates the child;
whatever it had started writing is removed, since nothing in the store points at it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus
from headrace.exceptions import StepExecutionError, StepInterruptedError
from headrace.execution.interrupts import user_code
from headrace.models import StepRunUpdate

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from headrace.execution.step_runner import StepRunner

POLL_INTERVAL_S = 0.02


def run_in_subprocess(runner: StepRunner, invocation_id: str) -> ExecutionStatus:
    """Run one step in a forked child; returns its status as the parent records it."""
    runner.flush()  # the child must not write the parent's pending records again
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main,
        args=(runner, invocation_id, writer),
        name=f"headrace-step-{invocation_id}",
        daemon=True,
    )
    process.start()
    writer.close()
    step_run_id: str | None = None
    message: tuple[Any, ...] | None = None
    try:
        with user_code():  # FAIL_FAST raises StepInterruptedError in this waiting thread
            while message is None:
                if reader.poll(POLL_INTERVAL_S):
                    received = reader.recv()
                    if received[0] == "started":
                        step_run_id = received[1]
                        progress = runner.state.progress
                        if progress is not None:  # the child reports nothing itself
                            progress.step_started(invocation_id, step_run_id)
                    else:
                        message = received
                elif not process.is_alive() and not reader.poll(0):
                    break
    except StepInterruptedError:
        process.terminate()
        process.join()
        return _stopped(runner, invocation_id, step_run_id)
    finally:
        reader.close()
    process.join()
    if message is None:
        return _crashed(runner, invocation_id, step_run_id, process.exitcode)
    _, status, records, error_text = message
    for name, record in records.items():
        runner.state.record_output(invocation_id, name, record)
    if error_text is not None:
        with runner.state.lock:
            runner.state.errors[invocation_id] = StepExecutionError(error_text)
    return runner._finish(invocation_id, status)


def _child_main(runner: StepRunner, invocation_id: str, connection: Connection) -> None:
    try:
        runner.state.store.after_fork()
        runner.state.lock = threading.Lock()  # a lock held by another parent thread stays held
        runner.state.progress = None  # the parent shows this step's progress
        runner.defer_start_records = False  # the parent may have to mark this row stopped
        runner.on_started = lambda step_run_id: connection.send(("started", step_run_id))
        status = runner.run(invocation_id)
        records = {
            name: record.without_value()
            for (owner, name), record in runner.state.outputs.items()
            if owner == invocation_id
        }
        error = runner.state.errors.get(invocation_id)
        text = None if error is None else f"{type(error).__name__}: {error}"
        connection.send(("done", status, records, text))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        connection.close()
        os._exit(0)  # no atexit handlers or inherited buffers of the parent


def _discard_outputs(runner: StepRunner, invocation_id: str) -> None:
    store = runner.state.artifact_store
    run_directory = runner.state.run_directory()
    if not store.exists(run_directory):
        return
    for name in store.listdir(run_directory):  # outputs and temporaries of this step
        if name.startswith(f"{invocation_id}."):
            store.rmtree(store.join(run_directory, name))


def _stopped(runner: StepRunner, invocation_id: str, step_run_id: str | None) -> ExecutionStatus:
    _discard_outputs(runner, invocation_id)
    reason = "terminated because another step failed (FAIL_FAST)"
    if step_run_id is None:
        runner.mark(invocation_id, ExecutionStatus.STOPPED, reason)
        return ExecutionStatus.STOPPED
    runner.state.store.update_step_run(
        step_run_id,
        StepRunUpdate(
            status=ExecutionStatus.STOPPED, end_time=datetime.now(UTC), status_reason=reason
        ),
    )
    return runner._finish(invocation_id, ExecutionStatus.STOPPED)


def _crashed(
    runner: StepRunner, invocation_id: str, step_run_id: str | None, exitcode: int | None
) -> ExecutionStatus:
    _discard_outputs(runner, invocation_id)
    error = StepExecutionError(
        f"The process running step {invocation_id!r} ended unexpectedly (exit code {exitcode})."
    )
    with runner.state.lock:
        runner.state.errors[invocation_id] = error
    if step_run_id is None:
        runner.mark(invocation_id, ExecutionStatus.FAILED, str(error))
        return ExecutionStatus.FAILED
    from headrace.execution.step_runner import step_error

    runner.state.store.update_step_run(
        step_run_id,
        StepRunUpdate(
            status=ExecutionStatus.FAILED, end_time=datetime.now(UTC), error=step_error(error)
        ),
    )
    return runner._finish(invocation_id, ExecutionStatus.FAILED)
