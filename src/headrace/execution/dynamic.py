"""Dynamic pipelines: the pipeline function runs at run time and steps start as it calls them.

Each step call is validated and turned into a ``StepSpec`` the moment it is made (the
same checks and messages as a static compile), added to the run's spec, and handed to
the run's scheduler, which submits it to the orchestrator as soon as its upstream steps
are done, in parallel with whatever else is ready. ``output.load()`` waits for the
producing step. Caching, retries, hooks and execution modes apply through the same
StepRunner as static runs, on any orchestrator.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.dsl.compiler import GraphBuilder, build_step_spec, building, pipeline_outputs
from headrace.dsl.outputs import StepArtifact
from headrace.enums import ExecutionStatus
from headrace.exceptions import HeadraceError
from headrace.execution.run_state import RunState
from headrace.execution.scheduler import Scheduler
from headrace.execution.type_checks import coerce_parameter


class StepOutputUnavailableError(HeadraceError):
    """A dynamic pipeline asked for the output of a step that did not succeed."""


class DynamicBuilder(GraphBuilder):
    """A graph builder whose step calls start steps instead of only recording them."""

    def __init__(
        self, state: RunState, scheduler: Scheduler, run_config: PipelineRunConfiguration
    ) -> None:
        super().__init__(state.spec.name)
        self.state = state
        self.scheduler = scheduler
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
        self.scheduler.add(spec)
        return outputs

    def load(self, artifact: StepArtifact) -> Any:
        """The value of a step output, once the step has finished."""
        status = self.scheduler.wait_for(artifact.invocation_id)
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
    state: RunState, scheduler: Scheduler
) -> tuple[dict[str, ExecutionStatus], BaseException | None]:
    """Run the pipeline function of a dynamic pipeline in this thread while the
    scheduler drives the orchestrator from another; returns step statuses and the
    exception the pipeline function itself raised, if any."""
    target = state.resolve(state.spec.source)
    pipeline_object = target if hasattr(target, "output_names") else None
    function = getattr(target, "entrypoint", target)
    run_config = PipelineRunConfiguration.model_validate(state.run.config)
    builder = DynamicBuilder(state, scheduler, run_config)
    error: BaseException | None = None
    returned: Any = None
    driver = scheduler.drive_in_thread()
    try:
        with building(builder):
            returned = function(**_arguments(function, state.spec.parameters))
    except Exception as exc:  # the orchestration code itself failed
        error = exc
    finally:
        scheduler.close()
        driver.join()
    if scheduler.crashed is not None:
        raise scheduler.crashed
    if error is None and returned is not None and pipeline_object is not None:
        outputs = pipeline_outputs(pipeline_object, returned)
        state.spec = state.spec.model_copy(update={"outputs": outputs})
    return dict(scheduler.statuses), error


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
