"""Untracked invocations: a run's step functions called in order, in memory.

With tracking off a deployment writes nothing: no run or step records, no artifacts, no
logs. The graph is the one the snapshot compiled; each step gets its parameters
(coerced to their annotations, as in a tracked run) and the values its upstream steps
returned, and ``get_step_context()`` works (``pipeline_state`` holds what the
deployment's ``on_init`` hook returned). A step that raises fails the invocation at
once; caching, retries and step hooks belong to tracked runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.config.spec import PipelineSpec, StepSpec
from headrace.dsl.signature import StepSignature, inspect_step
from headrace.enums import ExecutionStatus
from headrace.exceptions import DeploymentInvocationError, StepOutputTypeError
from headrace.execution.context import StepContext, reset_step_context, set_step_context
from headrace.execution.run_state import RunState
from headrace.execution.type_checks import check_input, check_output, coerce_parameter
from headrace.models import PipelineRunResponse, SnapshotResponse
from headrace.store.base import Store

_SIGNATURES: dict[Any, StepSignature] = {}


def run_order(spec: PipelineSpec) -> list[str]:
    """The steps of ``spec`` with every step after the ones it depends on."""
    remaining = {
        name: {ref.step for binding in step.inputs.values() for ref in binding.refs()}
        | set(step.upstream)
        for name, step in spec.steps.items()
    }
    order: list[str] = []
    while remaining:
        ready = [name for name, needs in remaining.items() if not needs - set(order)]
        if not ready:
            raise DeploymentInvocationError(
                f"Pipeline {spec.name!r}: steps {', '.join(remaining)} wait on each other.", None
            )
        for name in ready:
            order.append(name)
            del remaining[name]
    return order


class MemoryRun:
    """One untracked invocation."""

    def __init__(
        self,
        store: Store,
        snapshot: SnapshotResponse,
        spec: PipelineSpec,
        objects: dict[str, Any],
        artifact_store: ArtifactStore,
    ) -> None:
        now = datetime.now(UTC)
        # Never stored: it only lets get_step_context() name the run and its pipeline.
        run = PipelineRunResponse(
            id=str(uuid.uuid4()),
            created=now,
            name=f"{spec.name}-untracked",
            pipeline_id=snapshot.pipeline_id,
            snapshot_id=snapshot.id,
            stack_id=snapshot.stack_id,
            status=ExecutionStatus.RUNNING,
            start_time=now,
            parameters=spec.parameters,
            unlisted=True,
        )
        self.state = RunState(store, run, spec, objects, artifact_store, unlisted=True)
        self.values: dict[tuple[str, str], Any] = {}

    def execute(self, order: list[str], pipeline_state: Any) -> dict[str, Any]:
        """Call every step; returns the pipeline's outputs by name.

        Raises:
            DeploymentInvocationError: a step raised or returned what its annotation refuses.
        """
        state = self.state
        state.pipeline_state = pipeline_state
        for name in order:
            self._call(state.spec.steps[name])
        return {
            name: self.values[(ref.step, ref.output)] for name, ref in state.spec.outputs.items()
        }

    def _call(self, step: StepSpec) -> None:
        func = self.state.resolve(step.source)
        signature = _signature(step, func)
        kwargs = self._arguments(step, signature)
        context = StepContext(self.state, step, "untracked")
        token = set_step_context(context)
        try:
            result = func(**kwargs)
        except Exception as exc:
            raise DeploymentInvocationError(
                f"Step {step.invocation_id!r} failed: {type(exc).__name__}: {exc}", None
            ) from exc
        finally:
            reset_step_context(token)
        for output, value in _split(step, signature, result).items():
            self.values[(step.invocation_id, output)] = value

    def _arguments(self, step: StepSpec, signature: StepSignature) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, raw in step.parameters.items():
            info = signature.inputs.get(name)
            annotation = info.annotation if info is not None else Any
            kwargs[name] = coerce_parameter(raw, annotation, step=step.invocation_id, name=name)
        for name, binding in step.inputs.items():
            if binding.artifact_version_id is not None:
                records = self.state.input_records(binding)
                values = [self.state.value_of(r, f"input {name!r}") for r in records]
            else:
                values = [self.values[(ref.step, ref.output)] for ref in binding.refs()]
            if binding.kind == "artifact":
                value: Any = values[0]
            elif binding.kind == "dict":
                value = dict(zip(binding.keys, values, strict=True))
            else:
                value = values
            info = signature.inputs.get(name)
            if info is not None:
                check_input(value, info.annotation, step=step.invocation_id, name=name)
            kwargs[name] = value
        return kwargs


def _signature(step: StepSpec, func: Any) -> StepSignature:
    key = getattr(func, "__code__", func)
    signature = _SIGNATURES.get(key)
    if signature is None:
        signature = _SIGNATURES[key] = inspect_step(func, step.step_name)
    return signature


def _split(step: StepSpec, signature: StepSignature, result: Any) -> dict[str, Any]:
    outputs = signature.outputs
    if not outputs:
        return {}
    if len(outputs) == 1:
        values = {next(iter(outputs)): result}
    elif isinstance(result, tuple | list) and len(result) == len(outputs):
        values = dict(zip(outputs, result, strict=True))
    else:
        raise DeploymentInvocationError(
            f"Step {step.invocation_id!r} declares {len(outputs)} outputs "
            f"({', '.join(outputs)}) but returned {type(result).__name__}.",
            None,
        )
    for name, value in values.items():
        info = outputs[name]
        if info.annotated:
            try:
                check_output(value, info.annotation, step=step.invocation_id, name=name)
            except StepOutputTypeError as exc:
                raise DeploymentInvocationError(str(exc), None) from exc
    return values
