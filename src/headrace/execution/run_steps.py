"""Running the steps of a run: the driver's side of the scheduler.

Builds each ready step's task from the outputs recorded so far, hands tasks to the run's
orchestrator through the scheduler, and records what results mean for the run:
outputs for downstream steps, errors for the run's failure message, and, for a step
whose process could not record its own end (killed, crashed, never started), its step
run.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.exceptions import EntityExistsError, StepExecutionError
from headrace.execution.progress import error_line
from headrace.execution.scheduler import Scheduler
from headrace.execution.step_runner import StepRunner, step_error
from headrace.execution.step_task import CodeLocation, StepResult, StepTask
from headrace.models import StepRunUpdate
from headrace.utils.collection import collecting_less
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.config.spec import StepSpec
    from headrace.execution.orchestrators.base import BaseOrchestrator
    from headrace.execution.run_state import RunState

logger = headrace_logger()

DEFAULT_EXECUTION_MODE = ExecutionMode.CONTINUE_ON_FAILURE


class TaskFactory:
    """Makes the task of a ready step from the run's recorded outputs."""

    def __init__(
        self, state: RunState, code: CodeLocation | None, report_start: bool = False
    ) -> None:
        """``report_start``: show a step as started when its task is handed over (steps
        that run elsewhere cannot show it themselves)."""
        self.state = state
        self.code = code
        self.report_start = report_start
        component = state.store.get_stack(state.run.stack_id).artifact_store
        self.artifact_store: dict[str, Any] = {
            "flavor": component.flavor,
            "configuration": dict(component.configuration),
        }
        self.store_url: str = state.store.url

    def __call__(self, step: StepSpec) -> StepTask:
        state = self.state
        version = state.model_version_for(step)
        if self.report_start and state.progress is not None:
            state.progress.step_started(step.invocation_id)
        return StepTask(
            run_id=state.run.id,
            pipeline_name=state.spec.name,
            invocation_id=step.invocation_id,
            step=step,
            pipeline_config=state.spec.config,
            snapshot_id=state.run.snapshot_id,
            code=self.code,
            inputs={name: state.input_records(binding) for name, binding in step.inputs.items()},
            store_url=self.store_url,
            artifact_store=self.artifact_store,
            stack_id=state.run.stack_id,
            model_version_id=None if version is None else version.id,
        )


class ResultRecorder:
    """What a step's result means for the run (in the driver)."""

    def __init__(self, state: RunState, runner: StepRunner) -> None:
        self.state = state
        self.runner = runner

    def __call__(self, result: StepResult) -> None:
        state = self.state
        name = result.invocation_id
        if not result.recorded:
            self.record_unfinished(result)
        error: BaseException | None = result.exception
        if error is None and result.error is not None:
            error = StepExecutionError(result.error)
        with state.lock:
            for output, record in result.outputs.items():
                state.outputs[(name, output)] = record
            state.statuses[name] = result.status
            if error is not None and not result.status.is_successful:
                state.errors[name] = error
        progress = state.progress
        if progress is not None:
            shown = None if result.status.is_successful else error_line(error)
            progress.step_finished(name, result.status, shown)

    def mark(self, name: str, status: ExecutionStatus, reason: str) -> None:
        """Record a step that never starts."""
        mark_step(self.state, self.runner, name, status, reason)

    def record_unfinished(self, result: StepResult) -> None:
        """Record the end of a step whose own process could not: remove what it had
        started writing and mark its step run (or create one) with the result's status."""
        state, name = self.state, result.invocation_id
        _discard_outputs(state, name)
        self.runner.flush()
        existing = state.store.list_step_runs(state.run.id).get(name)
        reason = result.error or f"step ended {result.status.value}"
        if existing is None:
            # Its process had not written the step's "running" record yet. Written
            # now, on its own: if that process recorded the step meanwhile, its
            # record is read back below instead.
            request = self.runner.mark_request(name, result.status, reason)
            if result.status is ExecutionStatus.FAILED:  # as a step that raised
                request.error = step_error(result.exception or StepExecutionError(reason))
            try:
                state.store.create_step_runs([request])
                state.store.flush()  # a store that queues writes reports the conflict here
                return
            except EntityExistsError:
                existing = state.store.list_step_runs(state.run.id).get(name)
            if existing is None:
                raise StepExecutionError(f"Step {name!r}: its step run could not be recorded.")
        if existing.status.is_finished:
            return
        update = StepRunUpdate(status=result.status, end_time=datetime.now(UTC))
        if result.status is ExecutionStatus.FAILED:
            update.error = step_error(result.exception or StepExecutionError(reason))
        else:
            update.status_reason = reason
        state.store.update_step_run(existing.id, update)


def mark_step(
    state: RunState, runner: StepRunner, name: str, status: ExecutionStatus, reason: str
) -> None:
    """Record (and show) a step that never starts."""
    runner.mark(name, status, reason)
    with state.lock:
        state.statuses[name] = status
    progress = state.progress
    if progress is not None:
        progress.step_finished(name, status, None, reason)


def _discard_outputs(state: RunState, invocation_id: str) -> None:
    store = state.artifact_store
    run_directory = state.run_directory()
    if not store.exists(run_directory):
        return
    for entry in store.listdir(run_directory):  # outputs and temporaries of this step
        if entry.startswith(f"{invocation_id}."):
            store.rmtree(store.join(run_directory, entry))


def run_steps(state: RunState, orchestrator: BaseOrchestrator) -> dict[str, ExecutionStatus]:
    """Run every step of the run on ``orchestrator``; returns each step's final status.

    A dynamic run's pipeline function runs here too (in this thread) while the
    scheduler drives the orchestrator from another.
    """
    runner = StepRunner(state)
    recorder = ResultRecorder(state, runner)
    mode = state.spec.config.execution_mode or DEFAULT_EXECUTION_MODE
    dynamic = bool(state.spec.config.dynamic)
    scheduler = Scheduler(
        orchestrator,
        TaskFactory(
            state,
            code_location(state, orchestrator),
            report_start=not orchestrator.runs_in_process,
        ),
        recorder,
        recorder.mark,
        mode,
        dynamic=dynamic,
    )
    state.scheduler = scheduler
    # Steps that run here have their completions committed in groups (the store's
    # write-behind); steps that run elsewhere write theirs from their own process.
    deferring = (
        state.store.write_behind() if orchestrator.runs_in_process else contextlib.nullcontext()
    )
    collecting = collecting_less() if orchestrator.runs_in_process else contextlib.nullcontext()
    with deferring, collecting:
        flusher = _Flusher(runner)
        failed = True
        try:
            orchestrator.prepare(state, runner.run)
            if dynamic:
                from headrace.execution.dynamic import run_dynamic

                statuses, state.pipeline_error = run_dynamic(state, scheduler)
            else:
                scheduler.add_all(state.spec.steps.values())
                statuses = scheduler.drive()
            failed = False
            return statuses
        finally:
            try:
                if failed:
                    orchestrator.stop(graceful=False)
                orchestrator.close()
            finally:
                flusher.stop()
                runner.flush()


# The code archive of each snapshot this process ran (``None``: it has none), so a run
# of a snapshot run before does not read its whole spec again to find it.
_SNAPSHOT_CODE: dict[str, CodeLocation | None] = {}
_SNAPSHOT_CODE_MAX = 256


def code_location(state: RunState, orchestrator: BaseOrchestrator) -> CodeLocation | None:
    """The code archive steps import from, for orchestrators that need one: the
    snapshot's, else the source root archived now (once per distinct content). A source
    root without files (steps come from installed packages) needs none: steps then
    import from the workers' ``sys.path``."""
    if not orchestrator.needs_code_archive:
        return None
    if state.code is not None:
        return state.code
    snapshot_id = state.run.snapshot_id
    if snapshot_id is not None:
        if snapshot_id not in _SNAPSHOT_CODE:  # a snapshot's code never changes
            code = state.store.get_snapshot(snapshot_id).extra.get("code")
            found = CodeLocation(str(code["digest"]), str(code["uri"])) if code else None
            if len(_SNAPSHOT_CODE) >= _SNAPSHOT_CODE_MAX:
                _SNAPSHOT_CODE.clear()
            _SNAPSHOT_CODE[snapshot_id] = found
        if _SNAPSHOT_CODE[snapshot_id] is not None:
            return _SNAPSHOT_CODE[snapshot_id]
    from headrace.config.source import get_source_root
    from headrace.snapshots.code_archive import archivable_files, archive_code

    root = get_source_root()
    files = archivable_files(root, state.artifact_store, state.store.local_files())
    if not files:
        return None
    archive = archive_code(root, state.artifact_store, files=files)
    return CodeLocation(archive.digest, archive.uri)


class _Flusher:
    """Writes a step's deferred "running" record once the step has run for a while, so
    long steps show as running while short ones cost no extra transaction."""

    INTERVAL_S = 0.05

    def __init__(self, runner: StepRunner) -> None:
        self._runner = runner
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headrace-flusher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self.INTERVAL_S):
            try:
                self._runner.flush(older_than=self.INTERVAL_S)
            except Exception:  # the next completion writes them instead
                logger.debug("Deferred step records not written yet", exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
