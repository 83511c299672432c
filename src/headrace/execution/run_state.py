"""Everything one pipeline run needs while it executes, shared by its steps."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.config.source import load_source
from headrace.config.spec import OutputRef, PipelineSpec, StepSpec
from headrace.enums import ExecutionStatus
from headrace.models import PipelineRunResponse
from headrace.store.base import Store

# Values of these types are handed to downstream steps from memory: they cannot be
# changed in place, so a reader cannot tell them from a freshly loaded copy.
_IMMUTABLE = (int, float, bool, str, bytes, type(None), complex)


def is_immutable(value: Any) -> bool:
    """Whether ``value`` can be shared between steps without copying."""
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, tuple | frozenset):
        return all(is_immutable(v) for v in value)
    return False


@dataclass
class OutputRecord:
    """A produced (or cached) step output, as downstream steps need it."""

    artifact_version_id: str
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    python_version: str | None
    value: Any = None
    has_value: bool = False


@dataclass
class RunState:
    """The run being executed: store, spec, live objects, and outputs so far."""

    store: Store
    run: PipelineRunResponse
    spec: PipelineSpec
    objects: dict[str, Any]
    artifact_store: ArtifactStore
    unlisted: bool = False
    pipeline_state: Any = None
    pipeline_error: BaseException | None = None  # raised by a dynamic pipeline's function
    outputs: dict[tuple[str, str], OutputRecord] = field(default_factory=dict)
    statuses: dict[str, ExecutionStatus] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    hook_errors: list[tuple[str, str, str, BaseException]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, source: str) -> Any:
        """The live object for a source reference, importing it only if it is not known."""
        obj = self.objects.get(source)
        if obj is None:
            obj = load_source(source)
            self.objects[source] = obj
        if getattr(obj, "_is_headrace_step", False):
            obj = obj.entrypoint
        return obj

    def output_uri(self, invocation_id: str, output_name: str) -> str:
        """Where an output of this run is stored."""
        return self.artifact_store.join(
            self.artifact_store.path, "runs", self.run.id, invocation_id, output_name
        )

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
