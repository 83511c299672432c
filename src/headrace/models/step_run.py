"""Step runs: one execution (or cache hit, skip, stop) of one step invocation."""

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from headrace.config.step_configurations import StepConfiguration
from headrace.enums import ExecutionStatus
from headrace.models.artifact import ArtifactVersionList, ArtifactVersionResponse, InlineContent
from headrace.models.base import RequestModel, RunResponseBase
from headrace.utils.factories import new_dict, new_list


class StepRunError(BaseModel):
    """What a failed step raised."""

    model_config = ConfigDict(defer_build=True)

    type: str
    message: str
    traceback: str = ""


class HookError(BaseModel):
    """A hook that raised: which one, and what."""

    model_config = ConfigDict(defer_build=True)

    hook: str
    source: str
    type: str
    message: str


class CachedOutput(BaseModel):
    """What a cache hit needs of one output artifact version to hand it downstream."""

    model_config = ConfigDict(defer_build=True)

    id: str
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    python_version: str | None = None
    inline_content: InlineContent = None


class CacheHit(BaseModel):
    """The newest completed step run with a cache key, and its outputs by name."""

    model_config = ConfigDict(defer_build=True)

    step_run_id: str
    outputs: dict[str, list[CachedOutput]] = Field(default_factory=new_dict)


class StepRunRequest(RequestModel):
    """A step run as it starts (or as it is recorded cached, skipped or stopped)."""

    id: str
    pipeline_run_id: str
    name: str
    step_name: str
    status: ExecutionStatus
    source: str = ""
    code_hash: str = ""
    cache_key: str | None = None
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    config: dict[str, Any] = Field(default_factory=new_dict)
    docstring: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    original_step_run_id: str | None = None
    inputs: dict[str, list[str]] = Field(default_factory=new_dict)  # name -> artifact version ids
    outputs: dict[str, list[str]] = Field(default_factory=new_dict)  # for cached steps
    status_reason: str | None = None
    error: StepRunError | None = None
    model_version_id: str | None = None  # outputs (of cached steps too) are linked to it


class StepRunUpdate(RequestModel):
    """Fields of a step run that change while it runs."""

    status: ExecutionStatus | None = None
    end_time: datetime | None = None
    error: StepRunError | None = None
    attempts: int | None = None
    logs_uri: str | None = None
    status_reason: str | None = None
    attempt_errors: list[StepRunError] | None = None
    hook_errors: list[HookError] | None = None
    run_metadata: dict[str, Any] | None = None  # merged into what the step run has
    # Type names of ``run_metadata`` values when it travels as JSON (RestStore to server).
    run_metadata_types: dict[str, str] | None = None

    @model_validator(mode="after")
    def _typed_metadata(self) -> Self:
        if self.run_metadata and self.run_metadata_types:
            from headrace.metadata.metadata_types import decode_metadata

            self.run_metadata = decode_metadata(self.run_metadata, self.run_metadata_types)
            self.run_metadata_types = None
        return self

    def for_the_wire(self) -> "StepRunUpdate":
        """A copy whose metadata is plain JSON with its type names beside it."""
        if not self.run_metadata:
            return self
        from headrace.metadata.metadata_types import encode_metadata

        values, types = encode_metadata(self.run_metadata)
        return self.model_copy(update={"run_metadata": values, "run_metadata_types": types})


class StepRunResponse(RunResponseBase):
    """One step run with its inputs and outputs."""

    name: str
    step_name: str
    pipeline_run_id: str
    status: ExecutionStatus
    source: str = ""
    code_hash: str = ""
    cache_key: str | None = None
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    config: StepConfiguration = Field(default_factory=StepConfiguration.empty)
    docstring: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    original_step_run_id: str | None = None
    error: StepRunError | None = None
    attempts: int = 0
    logs_uri: str | None = None
    status_reason: str | None = None
    attempt_errors: list[StepRunError] = Field(default_factory=new_list)
    hook_errors: list[HookError] = Field(default_factory=new_list)
    inputs: dict[str, ArtifactVersionList] = Field(default_factory=new_dict)
    outputs: dict[str, ArtifactVersionList] = Field(default_factory=new_dict)

    @property
    def output(self) -> ArtifactVersionResponse:
        """The only output of a single-output step."""
        versions = [v for vs in self.outputs.values() for v in vs]
        if len(versions) != 1:
            names = ", ".join(self.outputs) or "none"
            raise ValueError(
                f"Step {self.name!r} has {len(versions)} output artifacts ({names}); "
                "use .outputs[name]."
            )
        return versions[0]

    @property
    def duration(self) -> float | None:
        """Seconds between start and end, when both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def logs(self) -> str:
        """What the step printed and logged (empty when nothing was captured)."""
        if not self.logs_uri:
            return ""
        from headrace.utils.entry_points import READ_TEXT, entry_point

        return str(entry_point(READ_TEXT)(self.logs_uri, self.store))

    @property
    def run(self) -> Any:
        """The pipeline run this step run belongs to."""
        return self.store.get_run(self.pipeline_run_id)


class StepRunOverview(BaseModel):
    """A long run's steps at a glance, without reading every one: how many there are in
    each status, the first and the last few, and the first few that did not succeed (what
    ``headrace run show`` prints of a run too long to list)."""

    model_config = ConfigDict(defer_build=True)

    total: int
    status_counts: dict[str, int] = Field(default_factory=new_dict)
    first: list[StepRunResponse] = Field(default_factory=new_list)
    last: list[StepRunResponse] = Field(default_factory=new_list)
    unsuccessful: list[StepRunResponse] = Field(default_factory=new_list)

    @property
    def unsuccessful_total(self) -> int:
        """How many steps did not succeed (``unsuccessful`` may list fewer)."""
        successful = {ExecutionStatus.COMPLETED.value, ExecutionStatus.CACHED.value}
        return sum(n for status, n in self.status_counts.items() if status not in successful)

    @classmethod
    def of_steps(
        cls, steps: list[StepRunResponse], *, edge: int, max_unsuccessful: int
    ) -> "StepRunOverview":
        """The overview of steps already read (in the order they started)."""
        counts: dict[str, int] = {}
        for step in steps:
            counts[step.status.value] = counts.get(step.status.value, 0) + 1
        unsuccessful = [s for s in steps if not s.status.is_successful]
        return cls(
            total=len(steps),
            status_counts=counts,
            first=steps[:edge],
            last=steps[-edge:] if edge else [],
            unsuccessful=unsuccessful[:max_unsuccessful],
        )
