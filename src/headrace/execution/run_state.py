"""Everything one pipeline run needs while it executes, shared by its steps."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.config.model import Model
from headrace.config.source import load_source
from headrace.config.spec import InputBinding, OutputRef, PipelineSpec, StepSpec
from headrace.enums import ExecutionStatus
from headrace.execution.step_task import CodeLocation, InputArtifact, is_immutable
from headrace.models import ModelVersionRequest, ModelVersionResponse, PipelineRunResponse
from headrace.store.base import Store

if TYPE_CHECKING:
    from headrace.execution.progress import RunProgress

# The record of an output as downstream steps need it is the step task's input artifact.
OutputRecord = InputArtifact
__all__ = ["OutputRecord", "RunState", "is_immutable"]


class RunState:
    """The run being executed: store, spec, live objects, and outputs so far."""

    pipeline_state: Any
    pipeline_error: BaseException | None  # raised by a dynamic pipeline's function
    outputs: dict[tuple[str, str], OutputRecord]
    # Artifact versions made before the run that steps take as inputs, by version id.
    version_inputs: dict[str, OutputRecord]
    statuses: dict[str, ExecutionStatus]
    errors: dict[str, BaseException]
    hook_errors: list[tuple[str, str, str, BaseException]]
    lock: threading.Lock
    # The version of the pipeline's model this run works on, and of each step's own model
    # (by the model's configuration, so equal configurations share one version).
    model_version: ModelVersionResponse | None
    model_versions: dict[str, ModelVersionResponse]
    model_lock: threading.Lock

    def __init__(
        self,
        store: Store,
        run: PipelineRunResponse,
        spec: PipelineSpec,
        objects: dict[str, Any],
        artifact_store: ArtifactStore,
        unlisted: bool = False,
    ) -> None:
        self.store = store
        self.run = run
        self.spec = spec
        self.objects = objects
        self.artifact_store = artifact_store
        self.unlisted = unlisted
        self.pipeline_state = None
        self.pipeline_error = None
        self.outputs = {}
        self.version_inputs = {}
        self.statuses = {}
        self.errors = {}
        self.hook_errors = []
        self.lock = threading.Lock()
        self.model_version = None
        self.model_versions = {}
        self.model_lock = threading.Lock()
        # The run's scheduler while steps run (``stop`` it from any thread).
        self.scheduler: Any = None
        # Where step events are shown (execution/progress.py); None shows nothing.
        self.progress: RunProgress | None = None
        # The code archive steps import from, when the launcher already made it (a
        # driver pod gets it from its client); None: found or made when steps start.
        self.code: CodeLocation | None = None

    def resolve(self, source: str) -> Any:
        """The live object for a source reference, importing it only if it is not known."""
        obj = self.objects.get(source)
        if obj is None:
            obj = load_source(source)
            self.objects[source] = obj
        if getattr(obj, "_is_headrace_step", False):
            obj = obj.entrypoint
        return obj

    def model_version_for(self, step: StepSpec) -> ModelVersionResponse | None:
        """The model version a step's outputs are linked to; ``None`` without a model.

        Steps without a model of their own (the usual case) cost two attribute reads.
        """
        if step.config.model is None:
            return self.model_version
        return self.resolve_model(step.config.model)

    def resolve_model(self, model: Model, *, run_model: bool = False) -> ModelVersionResponse:
        """The version of ``model`` this run works on, created or found once per run and
        linked to the run; ``run_model`` also records it as the run's model version.

        Raises:
            EntityNotFoundError: the model names a version number or stage none has.
        """
        key = model.model_dump_json()
        # Held across the store call: two steps of a dynamic pipeline resolving the same
        # model at once must share one version, not create two.
        with self.model_lock:
            version = self.model_versions.get(key)
            if version is None:
                version = self.store.resolve_model_version(
                    ModelVersionRequest(
                        model_name=model.name,
                        version=model.version,
                        description=model.description,
                        license=model.license,
                        audience=model.audience,
                        use_cases=model.use_cases,
                        limitations=model.limitations,
                        trade_offs=model.trade_offs,
                        ethics=model.ethics,
                        tags=list(model.tags),
                        pipeline_run_id=self.run.id,
                        run_model=run_model,
                    )
                )
                self.model_versions[key] = version
            return version

    def run_directory(self) -> str:
        """The directory under which this run's outputs are stored."""
        return self.artifact_store.join(self.artifact_store.path, "runs", self.run.id)

    def output_uri(self, invocation_id: str, output_name: str) -> str:
        """Where an output of this run is stored: ``runs/<run id>/<step>.<output>``.

        One level per run (not per step) keeps writing an output to one ``mkdir`` of its
        temporary directory, which matters on slow disks at thousands of steps.
        """
        return self.artifact_store.join(self.run_directory(), f"{invocation_id}.{output_name}")

    def artifact_name(self, step: StepSpec, output_name: str) -> tuple[str, bool]:
        """The artifact name of an output and whether the user chose it."""
        custom = step.outputs[output_name].artifact_name
        if custom:
            return custom, True
        return f"{self.spec.name}::{step.invocation_id}::{output_name}", False

    def record_output(self, invocation_id: str, name: str, record: OutputRecord) -> None:
        """Remember an output for downstream steps."""
        with self.lock:
            self.outputs[(invocation_id, name)] = record

    def output(self, ref: OutputRef) -> OutputRecord:
        """A recorded output of an upstream step."""
        return self.outputs[(ref.step, ref.output)]

    def input_records(self, binding: InputBinding) -> list[OutputRecord]:
        """What feeds a step input: upstream outputs, or an artifact version made before
        the run (read from the store once per run)."""
        version_id = binding.artifact_version_id
        if version_id is None:
            return [self.outputs[(ref.step, ref.output)] for ref in binding.refs()]
        record = self.version_inputs.get(version_id)
        if record is None:
            version = self.store.get_artifact_version(version_id)
            record = OutputRecord(
                artifact_version_id=version.id,
                uri=version.uri,
                materializer=version.materializer,
                data_type=version.data_type,
                content_hash=version.content_hash,
                python_version=version.python_version,
                inline=version.inline_content,
            )
            with self.lock:
                self.version_inputs[version_id] = record
        return [record]

    def value_of(self, record: OutputRecord, what: str) -> Any:
        """The value of a recorded output: kept in memory, or loaded from the store."""
        if record.has_value:
            return record.value
        from headrace.artifacts.loading import load_value

        return load_value(
            uri=record.uri,
            materializer=record.materializer,
            data_type=record.data_type,
            python_version_written=record.python_version,
            artifact_store=self.artifact_store,
            objects=self.objects,
            name=what,
            content_hash=record.content_hash,
            inline=record.inline,
        )
