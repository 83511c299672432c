"""Resuming a failed or stopped run: a new run of the same snapshot that reuses every
step the old run completed (whatever the cache settings say) and runs the rest.

A step is reused when the new run asks for the same invocation: same invocation id,
step, parameters, outputs and input artifact versions. For a static pipeline that is
every completed step whose upstream steps were reused too. A dynamic pipeline's function
runs again from the start (its steps exist only at run time): each step call that
matches a completed step of the old run gets that step's outputs at once, so the
function sees the same values and usually calls the same steps again; a call with other
parameters or inputs (data-dependent code, an ``ExternalArtifact`` uploaded anew) runs.

The new run records ``resumed_from_run_id``. Its steps that completed in the old run are
recorded ``cached`` (pointing at the step run that produced the outputs) without being
handed to the orchestrator: ``ReusingOrchestrator`` answers them itself and passes every
other task on. An output that is missing or was altered in the artifact store is not
reused: that step runs again.

A run of a named snapshot is resumed by the snapshot's runner process, from the
snapshot's code; any other run is resumed in this process from the working tree's code
(its steps must still be importable where they were).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headrace.artifacts.integrity import artifact_is_whole
from headrace.artifacts.loading import artifact_store_of
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.enums import ExecutionStatus
from headrace.exceptions import RunResumeError
from headrace.execution.orchestrators.base import BaseOrchestrator, RunInProcess
from headrace.execution.run_state import OutputRecord
from headrace.execution.step_task import StepResult, StepTask
from headrace.models import PipelineRunResponse, StepRunRequest, StepRunResponse

if TYPE_CHECKING:
    from headrace.execution.run_state import RunState
    from headrace.store.base import Store

RESUMABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.STOPPED})
_REUSABLE = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.CACHED})


def reusable_steps(store: Store, run_id: str) -> dict[str, StepRunResponse]:
    """The step runs of ``run_id`` that completed (or were cached), by invocation id."""
    return {
        name: step_run
        for name, step_run in store.list_step_runs(run_id).items()
        if step_run.status in _REUSABLE
    }


class ReusingOrchestrator(BaseOrchestrator):
    """Answers the tasks of steps the resumed run completed; passes the others on."""

    def __init__(
        self, inner: BaseOrchestrator, state: RunState, reuse: dict[str, StepRunResponse]
    ) -> None:
        super().__init__(inner.config)
        self.inner = inner
        self.runs_in_process = inner.runs_in_process
        self.needs_code_archive = inner.needs_code_archive
        self._state = state
        self._reuse = reuse
        self._lock = threading.Lock()
        self._ready: list[StepResult] = []

    def prepare(self, run: RunState, run_in_process: RunInProcess) -> None:
        self.inner.prepare(run, run_in_process)

    def submit(self, task: StepTask) -> None:
        result = self._reused(task)
        if result is None:
            self.inner.submit(task)
            return
        with self._lock:
            self._ready.append(result)

    def wait(self, timeout: float | None) -> list[StepResult]:
        with self._lock:
            ready, self._ready = self._ready, []
        return ready or self.inner.wait(timeout)

    def stop(self, graceful: bool) -> None:
        self.inner.stop(graceful)

    def close(self) -> None:
        self.inner.close()

    def _reused(self, task: StepTask) -> StepResult | None:
        """Record ``task``'s step as reused from the old run; ``None`` to run it."""
        old = self._reuse.get(task.invocation_id)
        if old is None or not same_invocation(old, task):
            return None
        state = self._state
        for versions in old.outputs.values():
            for version in versions:
                if not artifact_is_whole(
                    state.artifact_store, version.uri, version.content_hash, version.inline_content
                ):
                    return None
        now = datetime.now(UTC)
        step_run_id = str(uuid.uuid4())
        state.store.create_step_run(
            StepRunRequest(
                id=step_run_id,
                pipeline_run_id=state.run.id,
                name=task.invocation_id,
                step_name=task.step.step_name,
                status=ExecutionStatus.CACHED,
                source=task.step.source,
                code_hash=task.step.code_hash,
                parameters=task.step.parameters,
                docstring=task.step.docstring,
                start_time=now,
                end_time=now,
                original_step_run_id=old.original_step_run_id or old.id,
                inputs={n: [r.artifact_version_id for r in rs] for n, rs in task.inputs.items()},
                outputs={n: [v.id for v in vs] for n, vs in old.outputs.items()},
                status_reason=f"reused from the resumed run {state.run.resumed_from_run_id}",
                model_version_id=task.model_version_id,
            )
        )
        outputs = {
            name: OutputRecord(
                artifact_version_id=vs[0].id,
                uri=vs[0].uri,
                materializer=vs[0].materializer,
                data_type=vs[0].data_type,
                content_hash=vs[0].content_hash,
                python_version=vs[0].python_version,
                inline=vs[0].inline_content,
            )
            for name, vs in old.outputs.items()
        }
        return StepResult(task.invocation_id, ExecutionStatus.CACHED, step_run_id, outputs)


def same_invocation(old: StepRunResponse, task: StepTask) -> bool:
    """Whether ``task`` asks for what ``old`` did: the same step with the same
    parameters, the same outputs, and the same input artifact versions (so a step whose
    upstream ran again, or a dynamic pipeline's step called differently this time, is
    not reused)."""
    step = task.step
    if old.step_name != step.step_name or set(old.outputs) != set(step.outputs):
        return False
    if old.parameters != step.parameters:
        return False
    inputs = {
        name: [r.artifact_version_id for r in records] for name, records in task.inputs.items()
    }
    return inputs == {name: [v.id for v in versions] for name, versions in old.inputs.items()}


def reusing(orchestrator: BaseOrchestrator, state: RunState) -> BaseOrchestrator:
    """``orchestrator``, answering the steps a resumed run completed (other runs: as is)."""
    resumed_from = state.run.resumed_from_run_id
    if resumed_from is None:
        return orchestrator
    return ReusingOrchestrator(orchestrator, state, reusable_steps(state.store, resumed_from))


def resume_run(store: Store, name_or_id: str) -> PipelineRunResponse:
    """Start a new run of ``name_or_id``'s snapshot that reuses its completed steps.

    A run of a named snapshot goes to the snapshot's runner process (returns at once);
    any other run executes here (returns once it ended; raises ``RunFailedError`` if it
    failed again).
    """
    from headrace.execution.launcher import create_run_record, execute
    from headrace.execution.run_state import RunState
    from headrace.execution.snapshot_runs import apply_overrides, spawn_runner

    old = store.get_run(name_or_id)
    if old.status not in RESUMABLE:
        raise RunResumeError(
            f"Run {old.name!r} is {old.status.value}: only a failed or stopped run can be resumed."
        )
    if old.snapshot_id is None:
        raise RunResumeError(
            f"Run {old.name!r} has no snapshot (a single step run, or its snapshot was "
            "deleted), so there is nothing to resume it from."
        )
    snapshot = store.get_snapshot(old.snapshot_id)
    spec = snapshot.spec
    if spec.config.dynamic:
        # The pipeline function runs again and makes its steps anew; the graph the old
        # run recorded only shows what it ran.
        spec = spec.model_copy(update={"steps": {}, "outputs": {}})
    config = PipelineRunConfiguration.model_validate(old.config)
    config = config.model_copy(update={"run_name": None})
    named = bool(snapshot.name) and snapshot.runnable and "code" in snapshot.extra
    if named:
        spec = apply_overrides(spec, config)
    run = create_run_record(
        store,
        spec,
        config,
        old.pipeline_id,
        snapshot.id,
        old.stack_id,
        old.unlisted,
        None,
        resumed_from=old.id,
    )
    if named:
        spawn_runner(store, run)
        return store.get_run(run.id)
    state = RunState(
        store=store,
        run=run,
        spec=spec,
        objects={},
        artifact_store=artifact_store_of(store, run.stack_id),
    )
    return execute(state)
