"""A deployed snapshot, warm in this process: invoked with parameters, answering outputs.

Everything that does not change between invocations is done once, when the runtime is
made: the snapshot's code is imported, its pipeline's ``on_init`` hook runs (models a
step needs are loaded there and reached through ``get_step_context().pipeline_state``),
the orchestrator is built, and graphs compiled for a set of parameters are kept. What
is left per invocation is the run itself:

* tracking on: the same launcher every run goes through (a run record, the StepRunner
  per step, outputs materialized, the run's end recorded), with the warm hook value;
* tracking off: the step functions called in order in this thread (``memory_run``),
  nothing written anywhere.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from headrace.artifacts.loading import artifact_store_of
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.source import load_source
from headrace.config.spec import PipelineSpec
from headrace.deployments.memory_run import MemoryRun, run_order
from headrace.deployments.outputs import jsonable
from headrace.exceptions import (
    CompilationError,
    DeploymentError,
    DeploymentInvocationError,
    RunConfigurationError,
    RunFailedError,
)
from headrace.execution.launcher import create_run_record, execute
from headrace.execution.orchestrators.registry import build_orchestrator
from headrace.execution.run_state import RunState
from headrace.execution.snapshot_runs import check_runnable
from headrace.models import SnapshotResponse
from headrace.snapshots.parameters import validate_run_configuration
from headrace.store.base import Store

# Graphs compiled for other pipeline parameters, kept per parameter set (most recent).
_GRAPH_CACHE_SIZE = 256


@dataclass(frozen=True)
class Invocation:
    """What one invocation answered.

    Attributes:
        outputs: the pipeline's outputs by name, as JSON values.
        run_id: the tracked run's id (``None`` with tracking off).
        duration_ms: time spent in the runtime, validation included.
    """

    outputs: dict[str, Any]
    run_id: str | None
    duration_ms: float


class DeploymentRuntime:
    """One snapshot, loaded and kept warm, invoked by any number of threads at once."""

    def __init__(self, store: Store, snapshot: SnapshotResponse, *, tracking: bool) -> None:
        """Load the snapshot's pipeline (its code must be importable: see
        ``service.import_snapshot_code``) and run its ``on_init`` hook once.

        Raises:
            SnapshotError: the snapshot cannot be run by this version.
            DeploymentError: a dynamic pipeline without tracking, or a failing hook.
        """
        check_runnable(snapshot)
        self.store = store
        self.snapshot = snapshot
        self.tracking = tracking
        self.label = snapshot.name or snapshot.id
        spec = snapshot.spec
        if spec.config.dynamic and not tracking:
            raise DeploymentError(
                f"Snapshot {self.label!r} is a dynamic pipeline: its graph is made while it "
                "runs, which needs tracking; deploy it with tracking on."
            )
        self.schema: dict[str, Any] = snapshot.extra["parameter_schema"]
        self._modules = snapshot.extra["code"].get("modules")
        self.pipeline = load_source(spec.source)
        self.pipeline_state = self._warm_up(spec)
        # The hook ran once; the runs made per invocation must not run it again.
        self._base_spec = _without_init_hook(spec)
        # The step objects, imported once: each run resolves its steps from a copy.
        self._objects = {step.source: load_source(step.source) for step in spec.steps.values()}
        self._graphs: OrderedDict[str, tuple[PipelineSpec, dict[str, Any]]] = OrderedDict()
        self._graphs_lock = threading.Lock()
        self._orders: dict[str, list[str]] = {}
        if not spec.config.dynamic:
            # Compiling once here imports what compiling needs, so the first invocation
            # with new parameters does not pay for it.
            self._compile(dict(spec.parameters))
        self.stack = store.get_stack(snapshot.stack_id)
        self.artifact_store = artifact_store_of(store, snapshot.stack_id)

    # -- what the service shows -----------------------------------------------------------
    @property
    def parameters_schema(self) -> dict[str, Any]:
        """JSON Schema of the pipeline parameters an invocation may set."""
        schema = dict(self.schema.get("properties", {}).get("parameters", {}))
        schema.pop("required", None)  # every parameter has the snapshot's value by default
        return schema

    @property
    def output_names(self) -> list[str]:
        """The names of the pipeline's outputs (the keys of ``outputs``)."""
        return list(self.snapshot.spec.outputs)

    # -- invoking ------------------------------------------------------------------------
    def validate(self, parameters: Any) -> dict[str, Any]:
        """``parameters`` checked against the snapshot's parameter schema.

        Raises:
            RunConfigurationError: naming every unknown parameter and wrong value.
        """
        if not isinstance(parameters, dict):
            raise RunConfigurationError(
                [f"parameters: expected an object, got {type(parameters).__name__}."],
                subject=f"invocation of {self.label!r}",
            )
        try:
            validate_run_configuration(
                self.label,
                self.snapshot.spec,
                self.schema,
                {"parameters": parameters},
                self._modules,
            )
        except RunConfigurationError as error:
            raise RunConfigurationError(
                error.problems, subject=f"parameters for snapshot {self.label!r}"
            ) from None
        return parameters

    def invoke(self, parameters: dict[str, Any]) -> Invocation:
        """Run the pipeline once with ``parameters``; returns its outputs as JSON values.

        Raises:
            RunConfigurationError: bad parameters (nothing ran).
            DeploymentInvocationError: a step failed; the message names it and its error.
        """
        started = time.perf_counter()
        self.validate(parameters)
        spec, objects = self._graph(parameters)
        if self.tracking:
            outputs, run_id = self._tracked(spec, objects, parameters)
        else:
            outputs, run_id = self._untracked(spec, objects), None
        duration_ms = (time.perf_counter() - started) * 1000.0
        return Invocation(outputs=outputs, run_id=run_id, duration_ms=round(duration_ms, 3))

    def _tracked(
        self, spec: PipelineSpec, objects: dict[str, Any], parameters: dict[str, Any]
    ) -> tuple[dict[str, Any], str]:
        config = PipelineRunConfiguration(parameters=parameters) if parameters else None
        run = create_run_record(
            self.store,
            spec,
            config or PipelineRunConfiguration(),
            self.snapshot.pipeline_id,
            self.snapshot.id,
            self.snapshot.stack_id,
            False,
            None,
        )
        state = RunState(
            store=self.store,
            run=run,
            spec=spec,
            objects=dict(objects),
            artifact_store=self.artifact_store,
        )
        state.pipeline_state = self.pipeline_state
        try:
            execute(state, build_orchestrator(self.stack, spec.config.settings), report=False)
        except RunFailedError as error:
            raise DeploymentInvocationError(str(error), run.id) from error
        outputs = {}
        for name, ref in spec.outputs.items():
            record = state.output(ref)
            outputs[name] = jsonable(state.value_of(record, f"output {name!r}"))
        return outputs, run.id

    def _untracked(self, spec: PipelineSpec, objects: dict[str, Any]) -> dict[str, Any]:
        key = spec.content_hash()
        order = self._orders.get(key)
        if order is None:
            order = self._orders[key] = run_order(spec)
        run = MemoryRun(self.store, self.snapshot, spec, dict(objects), self.artifact_store)
        values = run.execute(order, self.pipeline_state)
        return {name: jsonable(value) for name, value in values.items()}

    # -- graphs --------------------------------------------------------------------------
    def _graph(self, parameters: dict[str, Any]) -> tuple[PipelineSpec, dict[str, Any]]:
        """The graph to run: the snapshot's, or one compiled for new pipeline parameters
        (compiled once per distinct set, then kept)."""
        spec = self.snapshot.spec
        if spec.config.dynamic or all(
            spec.parameters.get(k, object()) == v for k, v in parameters.items()
        ):
            return self._base_spec, self._objects
        key = json.dumps(parameters, sort_keys=True, default=str)
        with self._graphs_lock:
            cached = self._graphs.get(key)
            if cached is not None:
                self._graphs.move_to_end(key)
                return cached
        compiled = self._compile(parameters)
        with self._graphs_lock:
            self._graphs[key] = compiled
            while len(self._graphs) > _GRAPH_CACHE_SIZE:
                self._graphs.popitem(last=False)
        return compiled

    def _compile(self, parameters: dict[str, Any]) -> tuple[PipelineSpec, dict[str, Any]]:
        from headrace.dsl.compiler import compile_pipeline

        stored = PipelineRunConfiguration.model_validate(
            self.snapshot.extra.get("run_config") or {}
        )
        configured = copy.copy(self.pipeline)
        configured.run_configuration = self.pipeline.run_configuration.merged_with(
            stored
        ).merged_with(PipelineRunConfiguration(parameters=dict(parameters)))
        try:
            compiled = compile_pipeline(configured)
        except CompilationError as error:
            raise RunConfigurationError(
                [f"parameters: the pipeline cannot be compiled with them: {error}"],
                subject=f"invocation of {self.label!r}",
            ) from error
        return _without_init_hook(compiled.spec), dict(compiled.objects)

    def _warm_up(self, spec: PipelineSpec) -> Any:
        source = spec.config.init_hook_source
        if not source:
            return None
        try:
            hook = load_source(source)
            return hook(**(spec.config.init_hook_kwargs or {}))
        except Exception as exc:
            raise DeploymentError(
                f"The on_init hook {source} of snapshot {self.label!r} raised "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def _without_init_hook(spec: PipelineSpec) -> PipelineSpec:
    if not spec.config.init_hook_source:
        return spec
    config = spec.config.model_copy(update={"init_hook_source": None, "init_hook_kwargs": {}})
    return spec.model_copy(update={"config": config})
