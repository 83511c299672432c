"""Dynamic pipelines: the pipeline function runs at run time and steps start as it calls them.

Each step call is validated and turned into a ``StepSpec`` the moment it is made (the
same checks and messages as a static compile), added to the run's spec, and handed to a
scheduler that starts it as soon as its upstream steps are done, in parallel with
whatever else is ready. ``output.load()`` waits for the producing step. Caching,
retries, hooks and execution modes apply through the same StepRunner as static runs.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import StepSpec
from headrace.dsl.compiler import GraphBuilder, build_step_spec, building, pipeline_outputs
from headrace.dsl.outputs import StepArtifact
from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.exceptions import HeadraceError
from headrace.execution.interrupts import interrupt
from headrace.execution.orchestrators.local import DEFAULT_MAX_PARALLELISM
from headrace.execution.run_state import RunState
from headrace.execution.step_runner import StepRunner
from headrace.execution.type_checks import coerce_parameter


class StepOutputUnavailableError(HeadraceError):
    """A dynamic pipeline asked for the output of a step that did not succeed."""


class DynamicExecution:
    """Starts steps of a dynamic run as soon as their upstream steps are done."""

    def __init__(
        self, runner: StepRunner, mode: ExecutionMode, max_parallelism: int | None = None
    ) -> None:
        self.runner = runner
        self.mode = mode
        self.pool = ThreadPoolExecutor(
            max_workers=max_parallelism or DEFAULT_MAX_PARALLELISM,
            thread_name_prefix="headrace-dynamic-step",
        )
        self.lock = threading.Lock()
        self.finished: dict[str, ExecutionStatus] = {}
        self.events: dict[str, threading.Event] = {}
        self.waiting: dict[str, int] = {}
        self.downstream: dict[str, list[str]] = {}
        self.upstream: dict[str, list[str]] = {}
        self.threads: dict[str, int] = {}
        self.halted = False

    def add(self, step: StepSpec) -> None:
        """Schedule a step that was just added to the run."""
        name = step.invocation_id
        with self.lock:
            self.events[name] = threading.Event()
            self.upstream[name] = list(step.upstream)
            self.downstream.setdefault(name, [])
            open_upstream = [u for u in step.upstream if u not in self.finished]
            for up in open_upstream:
                self.downstream.setdefault(up, []).append(name)
            self.waiting[name] = len(open_upstream)
            if not open_upstream:
                self._start_or_skip(name)

    def _start_or_skip(self, name: str) -> None:
        """Called with the lock held once every upstream step has finished."""
        failed = [u for u in self.upstream[name] if not self.finished[u].is_successful]
        if failed or self.halted:
            reason = (
                f"not started: upstream step(s) {', '.join(failed)} did not succeed"
                if failed
                else f"not started: the run is stopping ({self.mode.value})"
            )
            self.runner.mark(name, ExecutionStatus.SKIPPED, reason)
            self._finish(name, ExecutionStatus.SKIPPED)
            return
        self.pool.submit(self._run, name)

    def _run(self, name: str) -> None:
        with self.lock:
            self.threads[name] = threading.get_ident()
        try:
            status = self.runner.run(name)
        except BaseException:
            status = ExecutionStatus.FAILED
        with self.lock:
            self.threads.pop(name, None)
            self._finish(name, status)

    def _finish(self, name: str, status: ExecutionStatus) -> None:
        """Called with the lock held."""
        self.finished[name] = status
        self.events[name].set()
        if status is ExecutionStatus.FAILED and self.mode is not ExecutionMode.CONTINUE_ON_FAILURE:
            self.halted = True
            if self.mode is ExecutionMode.FAIL_FAST:
                for ident in list(self.threads.values()):
                    interrupt(ident)
        for down in self.downstream.get(name, []):
            self.waiting[down] -= 1
            if self.waiting[down] == 0:
                self._start_or_skip(down)

    def wait_for(self, name: str) -> ExecutionStatus:
        """Block until a step has finished; returns its status."""
        self.events[name].wait()
        return self.finished[name]

    def wait_all(self) -> None:
        """Block until every added step has finished, then stop the pool."""
        for event in list(self.events.values()):
            event.wait()
        self.pool.shutdown(wait=True)


class DynamicBuilder(GraphBuilder):
    """A graph builder whose step calls start steps instead of only recording them."""

    def __init__(
        self, state: RunState, execution: DynamicExecution, run_config: PipelineRunConfiguration
    ) -> None:
        super().__init__(state.spec.name)
        self.state = state
        self.execution = execution
        self.run_config = run_config
        self.objects.update(state.objects)

    def add_invocation(
        self,
        step: Any,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        *,
        custom_id: str | None,
        after: Any,
    ) -> Any:
        outputs = super().add_invocation(step, args, kwargs, custom_id=custom_id, after=after)
        invocation = next(reversed(self.invocations.values()))
        spec = build_step_spec(self, invocation, self.run_config.steps.get(invocation.id))
        self.state.objects.update(self.objects)
        self.state.spec = self.state.spec.model_copy(
            update={"steps": {**self.state.spec.steps, invocation.id: spec}}
        )
        self.execution.add(spec)
        return outputs

    def load(self, artifact: StepArtifact) -> Any:
        """The value of a step output, once the step has finished."""
        status = self.execution.wait_for(artifact.invocation_id)
        if not status.is_successful:
            raise StepOutputUnavailableError(
                f"Step {artifact.invocation_id!r} ended {status.value}, so its output "
                f"{artifact.output_name!r} has no value."
            )
        record = self.state.outputs[(artifact.invocation_id, artifact.output_name)]
        return self.state.value_of(
            record, f"output {artifact.output_name!r} of step {artifact.invocation_id!r}"
        )


def run_dynamic(
    state: RunState, runner: StepRunner, mode: ExecutionMode, max_parallelism: int | None
) -> tuple[dict[str, ExecutionStatus], BaseException | None]:
    """Run the pipeline function of a dynamic pipeline; returns step statuses and the
    exception the pipeline function itself raised, if any."""
    target = state.resolve(state.spec.source)
    pipeline_object = target if hasattr(target, "output_names") else None
    function = getattr(target, "entrypoint", target)
    execution = DynamicExecution(runner, mode, max_parallelism)
    run_config = PipelineRunConfiguration.model_validate(state.run.config)
    builder = DynamicBuilder(state, execution, run_config)
    error: BaseException | None = None
    returned: Any = None
    try:
        with building(builder):
            returned = function(**_arguments(function, state.spec.parameters))
    except Exception as exc:  # the orchestration code itself failed
        error = exc
    finally:
        execution.wait_all()
    if error is None and returned is not None and pipeline_object is not None:
        outputs = pipeline_outputs(pipeline_object, returned)
        state.spec = state.spec.model_copy(update={"outputs": outputs})
    return dict(execution.finished), error


def _arguments(function: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    import typing

    try:
        hints = typing.get_type_hints(function)
    except Exception:
        hints = {}
    names = inspect.signature(function).parameters
    return {
        name: coerce_parameter(value, hints.get(name, Any), step="pipeline", name=name)
        for name, value in parameters.items()
        if name in names
    }
