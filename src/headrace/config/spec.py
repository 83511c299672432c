"""The compiled form of a pipeline: a frozen, JSON-serialisable DAG of step invocations.

The dsl produces a ``PipelineSpec`` by calling the pipeline function with placeholder
outputs; snapshots store it; orchestrators and the step runner execute it. Compiling the
same code twice gives byte-equal JSON (``PipelineSpec.canonical_json``).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.step_configurations import StepConfiguration
from headrace.enums import ArtifactType
from headrace.utils.factories import new_dict, new_list
from headrace.utils.hashing import canonical_json, sha256_text

SPEC_SCHEMA_VERSION = 1


class SpecModel(BaseModel):
    """Base of spec models: strict and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class OutputRef(SpecModel):
    """One output of an upstream invocation."""

    step: str
    output: str


class InputBinding(SpecModel):
    """What feeds one step input: an upstream output, or a list or dict of them (fan-in).

    ``artifact_version_id`` instead of ``ref``: an artifact version that exists before the
    run (an artifact version or ``ExternalArtifact`` passed to the step call).
    """

    kind: Literal["artifact", "list", "dict"] = "artifact"
    ref: OutputRef | None = None
    artifact_version_id: str | None = None
    items: list[OutputRef] = Field(default_factory=new_list)
    keys: list[str] = Field(default_factory=new_list)

    def refs(self) -> list[OutputRef]:
        """Every upstream output this binding reads."""
        return [self.ref] if self.ref is not None else list(self.items)


class OutputSpec(SpecModel):
    """One declared output of a step."""

    data_type: str | None = None  # source of the annotated type; None when unannotated
    materializer_source: list[str] | None = None
    artifact_name: str | None = None
    # From ``Annotated[T, ArtifactConfig(...)]``: stored on each version the output makes.
    artifact_version: str | None = None
    tags: list[str] = Field(default_factory=new_list)
    run_metadata: dict[str, Any] = Field(default_factory=new_dict)
    artifact_type: ArtifactType | None = None


class InputSpec(SpecModel):
    """One declared input of a step function."""

    data_type: str | None = None
    unmaterialized: bool = False


class StepSpec(SpecModel):
    """One invocation of a step inside a pipeline."""

    invocation_id: str
    step_name: str
    source: str
    code_hash: str
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    inputs: dict[str, InputBinding] = Field(default_factory=new_dict)
    input_types: dict[str, InputSpec] = Field(default_factory=new_dict)
    upstream: list[str] = Field(default_factory=new_list)
    outputs: dict[str, OutputSpec] = Field(default_factory=new_dict)
    config: StepConfiguration = Field(default_factory=StepConfiguration.empty)
    docstring: str | None = None


class PipelineSpec(SpecModel):
    """A whole compiled pipeline; ``steps`` is in a topological order."""

    schema_version: int = SPEC_SCHEMA_VERSION
    name: str
    source: str
    code_hash: str
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    config: PipelineConfiguration = Field(default_factory=PipelineConfiguration.empty)
    steps: dict[str, StepSpec] = Field(default_factory=new_dict)
    outputs: dict[str, OutputRef] = Field(default_factory=new_dict)
    docstring: str | None = None

    def canonical_json(self) -> str:
        """Deterministic JSON of the whole spec."""
        return canonical_json(self.model_dump(mode="json"))

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON; equal specs have equal hashes."""
        return sha256_text(self.canonical_json())

    def downstream(self) -> dict[str, list[str]]:
        """Map each invocation to the invocations that depend on it."""
        result: dict[str, list[str]] = {name: [] for name in self.steps}
        for name, step in self.steps.items():
            for up in step.upstream:
                result[up].append(name)
        return result
