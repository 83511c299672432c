"""Compile a pipeline call into a ``PipelineSpec``.

The pipeline function is called with a ``GraphBuilder`` active; each step call inside it
records an invocation and returns ``StepArtifact`` placeholders. ``finalize`` then checks
``after=`` references, orders the graph topologically (ties keep call order, so the
result is deterministic) and builds one ``StepSpec`` per invocation.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from headrace.config.artifact_config import ArtifactConfig
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.source import type_source
from headrace.config.spec import (
    InputBinding,
    InputSpec,
    OutputRef,
    OutputSpec,
    PipelineSpec,
    StepSpec,
)
from headrace.config.step_configurations import StepConfiguration
from headrace.dsl.cache_names import check_ignored_names
from headrace.dsl.outputs import StepArtifact
from headrace.exceptions import CompilationError, StepInterfaceError
from headrace.utils.env import ENV_ENFORCE_TYPE_ANNOTATIONS, env_flag
from headrace.utils.names import label_problem, name_problem
from headrace.utils.numbers import non_finite_problem
from headrace.utils.records import Record

if TYPE_CHECKING:
    from headrace.config.pipeline_configurations import PipelineConfiguration
    from headrace.dsl.pipeline import Pipeline
    from headrace.dsl.step import BaseStep

_ACTIVE: ContextVar[GraphBuilder | None] = ContextVar("headrace_graph_builder", default=None)


class VersionInput(Record):
    """An artifact version that exists before the run, bound to a step input."""

    __slots__ = ("artifact_version_id",)
    artifact_version_id: str

    def __init__(self, artifact_version_id: str) -> None:
        self.artifact_version_id = artifact_version_id


Binding = StepArtifact | VersionInput | list[StepArtifact] | dict[str, StepArtifact]

# Objects passed to a step call that stand for an artifact version (an artifact version
# response, an ``ExternalArtifact``) have this method; it returns the version's id,
# storing the value first when there is one. The dsl asks for the id and knows nothing
# of stores.
INPUT_VERSION_HOOK = "_headrace_input_version_id"


def active_builder() -> GraphBuilder | None:
    """The builder of the pipeline being compiled in this context, if any."""
    return _ACTIVE.get()


@contextmanager
def building(builder: GraphBuilder) -> Iterator[GraphBuilder]:
    """Make ``builder`` receive the step calls made inside the block."""
    token = _ACTIVE.set(builder)
    try:
        yield builder
    finally:
        _ACTIVE.reset(token)


def to_json_value(value: Any, *, what: str) -> Any:
    """The JSON form of a parameter value, or a ``CompilationError`` naming ``what``."""
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    problem = non_finite_problem(value)
    if problem is not None:
        raise CompilationError(f"{what}: {problem}.")
    try:
        jsonable = to_jsonable_python(value)
        json.dumps(jsonable)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise CompilationError(
            f"{what}: a value of type {type(value).__name__} cannot be serialised to JSON. "
            "Parameters must be JSON-like (numbers, strings, lists, dicts, pydantic models, "
            "dataclasses); produce other objects in a step and pass its output instead."
        ) from exc
    return jsonable


class Invocation(Record):
    """One recorded step call."""

    __slots__ = ("after", "artifacts", "id", "parameters", "step")
    id: str
    step: BaseStep[Any, Any]
    artifacts: dict[str, Binding]
    parameters: dict[str, Any]
    after: list[str | StepArtifact]

    def __init__(
        self,
        id: str,
        step: BaseStep[Any, Any],
        artifacts: dict[str, Binding] | None = None,
        parameters: dict[str, Any] | None = None,
        after: list[str | StepArtifact] | None = None,
    ) -> None:
        self.id = id
        self.step = step
        self.artifacts = {} if artifacts is None else artifacts
        self.parameters = {} if parameters is None else parameters
        self.after = [] if after is None else after


class GraphBuilder:
    """Collects the step invocations of one pipeline call."""

    def __init__(self, pipeline_name: str) -> None:
        self.pipeline_name = pipeline_name
        # What get_pipeline_context() reports while the pipeline function runs.
        self.configuration: PipelineConfiguration | None = None
        self.invocations: dict[str, Invocation] = {}
        self.objects: dict[str, Any] = {}
        self._prefixes: list[str] = []
        self._next_suffix: dict[str, int] = {}
        self._sources: dict[int, str] = {}
        # Spec parts shared by the invocations of one step (``build_step_spec``).
        self.step_parts: dict[tuple[int, int], _StepParts] = {}

    def source_of(self, step: BaseStep[Any, Any]) -> str:
        """``step.source``, worked out once per step and compile.

        A function of the running script needs the source root for its module name,
        which is looked up on disk; a step called ten times would look ten times.
        """
        source = self._sources.get(id(step))
        if source is None:
            source = self._sources[id(step)] = step.source
        return source

    # -- recording ----------------------------------------------------------------------
    def _invocation_id(self, step: BaseStep[Any, Any], custom_id: str | None) -> str:
        invocation_id = self._new_invocation_id(step, custom_id)
        problem = name_problem(invocation_id)
        if problem is not None:
            # Ids name files (outputs, logs): one that reaches another directory or a
            # terminal is refused here, for static and dynamic pipelines alike.
            raise CompilationError(
                f"Step {step.name!r}: the invocation id {invocation_id!r} {problem}; "
                "use letters, digits, '_', '-' and single dots."
            )
        return invocation_id

    def _new_invocation_id(self, step: BaseStep[Any, Any], custom_id: str | None) -> str:
        prefix = "".join(f"{p}." for p in self._prefixes)
        if custom_id is not None:
            if not isinstance(custom_id, str) or not custom_id:
                raise CompilationError(f"Step {step.name!r}: id= must be a non-empty string.")
            invocation_id = prefix + custom_id
            if invocation_id in self.invocations:
                raise CompilationError(
                    f"Step {step.name!r}: the invocation id {invocation_id!r} is already used "
                    f"in pipeline {self.pipeline_name!r}; ids must be unique."
                )
            return invocation_id
        base = prefix + step.name
        if base not in self.invocations:
            return base
        n = self._next_suffix.get(base, 2)
        while f"{base}_{n}" in self.invocations:
            n += 1
        self._next_suffix[base] = n + 1
        return f"{base}_{n}"

    def add_invocation(
        self,
        step: BaseStep[Any, Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        *,
        custom_id: str | None,
        after: Any,
    ) -> Any:
        """Record a step call and return its output placeholder(s)."""
        invocation_id = self._invocation_id(step, custom_id)
        invocation = Invocation(invocation_id, step)
        for name, value in self._bind(step, invocation_id, args, kwargs).items():
            binding = self._artifact_binding(invocation_id, name, value)
            if binding is not None:
                invocation.artifacts[name] = binding
            else:
                invocation.parameters[name] = to_json_value(
                    value, what=f"Step {invocation_id!r} parameter {name!r}"
                )
        invocation.after = _as_list(after)
        self.invocations[invocation_id] = invocation
        self.objects[self.source_of(step)] = step.entrypoint
        self.objects.update(step.objects)
        outputs = [
            StepArtifact(self, invocation_id, out.name, out.annotation)
            for out in step.signature.outputs.values()
        ]
        if not outputs:
            return None
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _bind(
        self,
        step: BaseStep[Any, Any],
        invocation_id: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        names = list(step.signature.inputs)
        if len(args) > len(names):
            raise CompilationError(
                f"Step {invocation_id!r} takes {len(names)} input(s) "
                f"({', '.join(names) or 'none'}) "
                f"but was called with {len(args)} positional argument(s)."
            )
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in step.signature.inputs:
                raise CompilationError(
                    f"Step {invocation_id!r} has no input named {key!r}; "
                    f"its inputs are: {', '.join(names) or 'none'}."
                )
            if key in bound:
                raise CompilationError(f"Step {invocation_id!r}: input {key!r} was given twice.")
            bound[key] = value
        return bound

    def _artifact_binding(self, invocation_id: str, name: str, value: Any) -> Binding | None:
        if isinstance(value, StepArtifact):
            self._check_ours(invocation_id, name, value)
            return value
        if _is_version(value):
            resolve = getattr(value, INPUT_VERSION_HOOK)
            default_name = f"{self.pipeline_name}::{invocation_id}::{name}"
            return VersionInput(str(resolve(default_name)))
        items = value.values() if isinstance(value, dict) else value
        if isinstance(value, list | tuple | dict) and any(_is_version(v) for v in items):
            raise CompilationError(
                f"Step {invocation_id!r} input {name!r}: a list or dict of artifact versions "
                "cannot be one input; pass each version to an input of its own, or load the "
                "values in the step with load_artifact."
            )
        if isinstance(value, list | tuple) and any(isinstance(v, StepArtifact) for v in value):
            if not all(isinstance(v, StepArtifact) for v in value):
                raise CompilationError(
                    f"Step {invocation_id!r} input {name!r}: a list of step outputs cannot also "
                    "hold plain values."
                )
            for item in value:
                self._check_ours(invocation_id, name, item)
            return list(value)
        if isinstance(value, dict) and any(isinstance(v, StepArtifact) for v in value.values()):
            if not all(isinstance(v, StepArtifact) for v in value.values()) or not all(
                isinstance(k, str) for k in value
            ):
                raise CompilationError(
                    f"Step {invocation_id!r} input {name!r}: a dict of step outputs needs string "
                    "keys and step outputs as every value."
                )
            for item in value.values():
                self._check_ours(invocation_id, name, item)
            return dict(value)
        return None

    def _check_ours(self, invocation_id: str, name: str, artifact: StepArtifact) -> None:
        if artifact.builder is not self:
            raise CompilationError(
                f"Step {invocation_id!r} input {name!r} receives output {artifact.output_name!r} "
                f"of step {artifact.invocation_id!r}, which belongs to another pipeline call; "
                "step outputs can only be passed within the pipeline that produced them."
            )

    @contextmanager
    def prefixed(self, prefix: str) -> Iterator[None]:
        """Record invocations of a nested pipeline under ``prefix.``."""
        self._prefixes.append(prefix)
        try:
            yield
        finally:
            self._prefixes.pop()

    # -- finishing ----------------------------------------------------------------------
    def _after_ids(self, invocation: Invocation) -> list[str]:
        ids = []
        for item in invocation.after:
            target = item.invocation_id if isinstance(item, StepArtifact) else item
            if target not in self.invocations:
                known = ", ".join(self.invocations)
                raise CompilationError(
                    f"Step {invocation.id!r} has after={target!r}, but no step invocation in "
                    f"pipeline {self.pipeline_name!r} has that id (known ids: {known})."
                )
            if target == invocation.id:
                raise CompilationError(f"Step {invocation.id!r} cannot run after itself.")
            ids.append(target)
        return ids

    def upstream_of(self, invocation: Invocation) -> list[str]:
        """Upstream invocation ids: data inputs first, then ``after``, without repeats."""
        ups: list[str] = []
        for binding in invocation.artifacts.values():
            if isinstance(binding, VersionInput):
                continue
            items = (
                [binding]
                if isinstance(binding, StepArtifact)
                else (list(binding.values()) if isinstance(binding, dict) else binding)
            )
            ups.extend(a.invocation_id for a in items)
        ups.extend(self._after_ids(invocation))
        return list(dict.fromkeys(ups))

    def topological_order(self) -> list[str]:
        """Invocation ids so that every step follows its upstream steps; call order breaks ties."""
        upstream = {i.id: self.upstream_of(i) for i in self.invocations.values()}
        position = {name: n for n, name in enumerate(self.invocations)}
        remaining = {name: len(ups) for name, ups in upstream.items()}
        downstream: dict[str, list[str]] = {name: [] for name in upstream}
        for name, ups in upstream.items():
            for up in ups:
                downstream[up].append(name)
        import heapq

        ready = [(position[n], n) for n, count in remaining.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, name = heapq.heappop(ready)
            order.append(name)
            for down in downstream[name]:
                remaining[down] -= 1
                if remaining[down] == 0:
                    heapq.heappush(ready, (position[down], down))
        if len(order) != len(upstream):
            raise CompilationError(
                f"Pipeline {self.pipeline_name!r} has a cycle: "
                f"{_find_cycle(upstream, set(order))}. "
                "Check the after= arguments of these steps."
            )
        return order


def _is_version(value: Any) -> bool:
    """Whether ``value`` stands for an artifact version (see ``INPUT_VERSION_HOOK``)."""
    return not isinstance(value, type) and hasattr(value, INPUT_VERSION_HOOK)


def _as_list(after: Any) -> list[str | StepArtifact]:
    if after is None:
        return []
    items = [after] if isinstance(after, str | StepArtifact) else list(after)
    result: list[str | StepArtifact] = []
    for item in items:
        if isinstance(item, str | StepArtifact):
            result.append(item)
        elif getattr(item, "_is_headrace_step", False):
            result.append(item.name)
        else:
            raise CompilationError(
                f"after= takes invocation ids (strings) or step outputs, got {item!r}."
            )
    return result


def _find_cycle(upstream: dict[str, list[str]], done: set[str]) -> str:
    """A readable cycle among the nodes that could not be ordered."""
    start = next(n for n in upstream if n not in done)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = next(u for u in upstream[current] if u not in done)
        if current in seen:
            cycle = [*path[seen[current] :], current]
            return " -> ".join(reversed(cycle))
        seen[current] = len(path)
        path.append(current)


# -- spec building -------------------------------------------------------------------------
def _binding_model(binding: Binding) -> InputBinding:
    def ref(a: StepArtifact) -> OutputRef:
        return OutputRef(step=a.invocation_id, output=a.output_name)

    if isinstance(binding, StepArtifact):
        return InputBinding(kind="artifact", ref=ref(binding))
    if isinstance(binding, VersionInput):
        return InputBinding(kind="artifact", artifact_version_id=binding.artifact_version_id)
    if isinstance(binding, dict):
        return InputBinding(
            kind="dict", items=[ref(a) for a in binding.values()], keys=list(binding)
        )
    return InputBinding(kind="list", items=[ref(a) for a in binding])


def _output_specs(step: BaseStep[Any, Any], config: StepConfiguration) -> dict[str, OutputSpec]:
    specs = {}
    for name, out in step.signature.outputs.items():
        problem = name_problem(name)
        if problem is not None:
            raise CompilationError(f"Step {step.name!r}: the output name {name!r} {problem}.")
        configured = config.outputs.get(name)
        materializers = (
            (configured.materializer_source if configured else None)
            or step.output_materializers.get(name)
            or step.output_materializers.get("*")
        )
        artifact_name = (configured.artifact_name if configured else None) or (
            name if out.custom_name else None
        )
        problem = label_problem(artifact_name) if artifact_name is not None else None
        if problem is not None:
            raise CompilationError(
                f"Step {step.name!r} output {name!r}: the artifact name {artifact_name!r} "
                f"{problem}."
            )
        specs[name] = OutputSpec(
            data_type=type_source(out.annotation) if out.annotated else None,
            materializer_source=materializers or None,
            artifact_name=artifact_name,
            **_artifact_config_fields(step, name, out.config),
        )
    return specs


def _artifact_config_fields(
    step: BaseStep[Any, Any], output: str, config: ArtifactConfig | None
) -> dict[str, Any]:
    """What an output's ``ArtifactConfig`` adds to its ``OutputSpec``."""
    if config is None:
        return {}
    return {
        "artifact_version": None if config.version is None else str(config.version),
        "tags": list(dict.fromkeys(config.tags or [])),
        "run_metadata": to_json_value(
            config.run_metadata or {},
            what=f"Step {step.name!r} output {output!r} ArtifactConfig run_metadata",
        ),
        "artifact_type": config.artifact_type,
    }


class _StepParts(Record):
    """What every invocation of one step (with the same overrides) shares in its spec,
    worked out once per compile: a chain of many calls of one step compiles fast."""

    __slots__ = ("config", "defaults", "input_types", "keep", "outputs")
    keep: tuple[Any, ...]  # the step and overrides, referenced so their ids stay theirs
    config: StepConfiguration
    defaults: dict[str, Any]  # JSON form of the inputs' defaults (non-JSON ones left out)
    input_types: dict[str, InputSpec]
    outputs: dict[str, OutputSpec]

    def __init__(
        self,
        keep: tuple[Any, ...],
        config: StepConfiguration,
        defaults: dict[str, Any],
        input_types: dict[str, InputSpec],
        outputs: dict[str, OutputSpec],
    ) -> None:
        self.keep = keep
        self.config = config
        self.defaults = defaults
        self.input_types = input_types
        self.outputs = outputs


def _step_parts(
    builder: GraphBuilder,
    step: BaseStep[Any, Any],
    overrides: StepConfiguration | None,
    merged: StepConfiguration,
    invocation_id: str,
) -> _StepParts:
    key = (id(step), id(overrides))
    parts = builder.step_parts.get(key)
    if parts is not None and parts.keep[0] is step and parts.keep[1] is overrides:
        return parts
    defaults: dict[str, Any] = {}
    input_types: dict[str, InputSpec] = {}
    for name, info in step.signature.inputs.items():
        if info.has_default:
            # Non-JSON defaults stay in the function signature.
            with contextlib.suppress(CompilationError):
                defaults[name] = to_json_value(info.default, what="default")
        input_types[name] = InputSpec(
            data_type=type_source(info.annotation) if info.annotated else None,
            unmaterialized=bool(getattr(info.annotation, "_is_unmaterialized_artifact", False)),
        )
    check_ignored_names(merged.cache_policy, f"Step {invocation_id!r}", step.signature.inputs)
    parts = _StepParts(
        (step, overrides),
        merged.model_copy(update={"parameters": {}, "outputs": {}, "name": None}),
        defaults,
        input_types,
        _output_specs(step, merged),
    )
    builder.step_parts[key] = parts
    return parts


def build_step_spec(
    builder: GraphBuilder, invocation: Invocation, overrides: StepConfiguration | None
) -> StepSpec:
    """The ``StepSpec`` of one invocation, with run-configuration overrides applied."""
    step = invocation.step
    if env_flag(ENV_ENFORCE_TYPE_ANNOTATIONS):
        _require_annotations(step)
    config = step.configuration.merged_with(overrides)
    parameters = dict(invocation.parameters)
    for name, value in config.parameters.items():
        if name not in step.signature.inputs:
            raise CompilationError(
                f"Step {invocation.id!r}: the configuration sets parameter {name!r}, but the step "
                f"has no such input (inputs: {', '.join(step.signature.inputs) or 'none'})."
            )
        if name in invocation.artifacts:
            raise CompilationError(
                f"Step {invocation.id!r}: input {name!r} receives a step output, so the "
                "configuration cannot set it as a parameter."
            )
        parameters[name] = to_json_value(value, what=f"Step {invocation.id!r} parameter {name!r}")
    unset = [
        n for n in step.signature.inputs if n not in parameters and n not in invocation.artifacts
    ]
    for name in unset:
        if not step.signature.inputs[name].has_default:
            raise CompilationError(
                f"Step {invocation.id!r} is missing its required input {name!r}: pass a value "
                "or a step output when calling it, or set steps."
                f"{invocation.id}.parameters.{name} in the run configuration."
            )
    parts = _step_parts(builder, step, overrides, config, invocation.id)
    for name in unset:
        if name in parts.defaults:
            parameters[name] = parts.defaults[name]
    return StepSpec(
        invocation_id=invocation.id,
        step_name=step.name,
        source=builder.source_of(step),
        code_hash=step.code_hash,
        parameters=parameters,
        inputs={name: _binding_model(b) for name, b in invocation.artifacts.items()},
        input_types=parts.input_types,
        upstream=builder.upstream_of(invocation),
        outputs=parts.outputs,
        config=parts.config,
        docstring=step.docstring,
    )


def _require_annotations(step: BaseStep[Any, Any]) -> None:
    missing = [f"input {n!r}" for n, i in step.signature.inputs.items() if not i.annotated]
    missing += [f"output {n!r}" for n, o in step.signature.outputs.items() if not o.annotated]
    if missing:
        raise StepInterfaceError(
            f"Step {step.name!r} has no type annotation for {', '.join(missing)}; "
            f"{ENV_ENFORCE_TYPE_ANNOTATIONS} is set, so every input and output needs one."
        )


class CompiledPipeline(Record):
    """A spec plus the live objects (functions, hooks, materializers) it refers to by source."""

    __slots__ = ("objects", "run_config", "spec")
    spec: PipelineSpec
    objects: dict[str, Any]
    run_config: PipelineRunConfiguration

    def __init__(
        self, spec: PipelineSpec, objects: dict[str, Any], run_config: PipelineRunConfiguration
    ) -> None:
        self.spec = spec
        self.objects = objects
        self.run_config = run_config


def bind_pipeline_parameters(
    pipeline: Pipeline[Any], args: Sequence[Any], kwargs: dict[str, Any], configured: dict[str, Any]
) -> dict[str, Any]:
    """Pipeline parameters from the call, then the run configuration, then the defaults."""
    signature = inspect.signature(pipeline.entrypoint)
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError as exc:
        raise CompilationError(f"Pipeline {pipeline.name!r}: {exc}.") from exc
    values = dict(bound.arguments)
    for name, value in configured.items():
        if name not in signature.parameters:
            raise CompilationError(
                f"Pipeline {pipeline.name!r} has no parameter {name!r} "
                f"(parameters: {', '.join(signature.parameters) or 'none'})."
            )
        values[name] = value
    for name, param in signature.parameters.items():
        if name in values:
            continue
        if param.default is inspect.Parameter.empty:
            raise CompilationError(
                f"Pipeline {pipeline.name!r} is missing its required parameter {name!r}."
            )
        values[name] = param.default
    return values


def compile_pipeline(
    pipeline: Pipeline[Any], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
) -> CompiledPipeline:
    """Call the pipeline function with a builder active and freeze the result into a spec."""
    run_config = pipeline.run_configuration
    parameters = bind_pipeline_parameters(pipeline, args, kwargs or {}, run_config.parameters)
    json_parameters = {
        name: to_json_value(value, what=f"Pipeline {pipeline.name!r} parameter {name!r}")
        for name, value in parameters.items()
    }
    builder = GraphBuilder(pipeline.name)
    builder.objects.update(pipeline.objects)
    builder.objects[pipeline.source] = pipeline
    if pipeline.configuration.dynamic:
        # Steps are added while the run executes (headrace.execution.dynamic).
        return CompiledPipeline(
            spec=PipelineSpec(
                name=pipeline.name,
                source=pipeline.source,
                code_hash=pipeline.code_hash,
                parameters=json_parameters,
                config=pipeline.configuration.merged_with(run_config),
                docstring=pipeline.entrypoint.__doc__,
            ),
            objects=builder.objects,
            run_config=run_config,
        )
    builder.configuration = pipeline.configuration.merged_with(run_config)
    with building(builder):
        returned = pipeline.entrypoint(**parameters)
    unknown = sorted(set(run_config.steps) - set(builder.invocations))
    if unknown:
        raise CompilationError(
            f"The run configuration of pipeline {pipeline.name!r} configures unknown step(s) "
            f"{', '.join(map(repr, unknown))}; its steps are: {', '.join(builder.invocations)}."
        )
    steps = {
        name: build_step_spec(builder, builder.invocations[name], run_config.steps.get(name))
        for name in builder.topological_order()
    }
    config = pipeline.configuration.merged_with(run_config)
    every_input = {name for step in steps.values() for name in step.input_types}
    check_ignored_names(config.cache_policy, f"Pipeline {pipeline.name!r}", every_input)
    spec = PipelineSpec(
        name=pipeline.name,
        source=pipeline.source,
        code_hash=pipeline.code_hash,
        parameters=json_parameters,
        config=config,
        steps=steps,
        outputs=pipeline_outputs(pipeline, returned),
        docstring=pipeline.entrypoint.__doc__,
    )
    return CompiledPipeline(spec=spec, objects=builder.objects, run_config=run_config)


def pipeline_outputs(pipeline: Pipeline[Any], returned: Any) -> dict[str, OutputRef]:
    """Name the step outputs a pipeline function returned."""
    if returned is None:
        return {}
    items = list(returned) if isinstance(returned, tuple) else [returned]
    if not all(isinstance(i, StepArtifact) for i in items):
        raise CompilationError(
            f"Pipeline {pipeline.name!r} returned {returned!r}; a pipeline can only return "
            "step outputs (or nothing)."
        )
    names = pipeline.output_names(len(items))
    outputs: dict[str, OutputRef] = {}
    for name, item in zip(names, items, strict=True):
        key = name or item.output_name
        if key in outputs:
            key = f"{item.invocation_id}.{item.output_name}"
        outputs[key] = OutputRef(step=item.invocation_id, output=item.output_name)
    return outputs


def compile_single_step(
    step: BaseStep[Any, Any], args: Sequence[Any], kwargs: dict[str, Any]
) -> CompiledPipeline:
    """Compile calling one step outside a pipeline into a one-step pipeline spec."""
    from headrace.config.pipeline_configurations import PipelineConfiguration

    builder = GraphBuilder(step.name)
    with building(builder):
        step(*args, **kwargs)
    (invocation,) = builder.invocations.values()
    spec = PipelineSpec(
        name=step.name,
        source=step.source,
        code_hash=step.code_hash,
        config=PipelineConfiguration.empty(),
        steps={invocation.id: build_step_spec(builder, invocation, None)},
    )
    return CompiledPipeline(spec, builder.objects, PipelineRunConfiguration.empty())
