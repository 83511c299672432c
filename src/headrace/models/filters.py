"""Filter models for list calls: paging, sorting and the fields one can filter on."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from headrace.enums import ExecutionStatus, ModelStages


class BaseFilter(BaseModel):
    """Paging and sorting shared by every list call.

    ``sort_by`` is ``asc:field`` or ``desc:field``.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1, le=10_000)
    sort_by: str = "desc:created"
    name: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class PipelineFilter(BaseFilter):
    """Filter pipelines."""

    tag: str | None = None


class PipelineRunFilter(BaseFilter):
    """Filter pipeline runs."""

    pipeline_id: str | None = None
    pipeline_name: str | None = None
    snapshot_id: str | None = None
    triggered_by_step_run_id: str | None = None
    triggered_by_run_id: str | None = None  # started by any step of this run
    status: ExecutionStatus | None = None
    include_unlisted: bool = True
    unlisted: bool | None = None  # True: only unlisted runs (single steps); False: only listed
    tag: str | None = None
    model_version_id: str | None = None


class SnapshotFilter(BaseFilter):
    """Filter snapshots; by default only named ones."""

    pipeline_id: str | None = None
    named_only: bool = True


class ArtifactVersionFilter(BaseFilter):
    """Filter artifact versions."""

    artifact_id: str | None = None
    artifact_name: str | None = None
    producer_step_run_id: str | None = None
    data_type: str | None = None
    tag: str | None = None  # on the version or on its artifact
    model_version_id: str | None = None


class ModelFilter(BaseFilter):
    """Filter models."""

    tag: str | None = None


class ModelVersionFilter(BaseFilter):
    """Filter model versions; ``sort_by`` may also be ``asc:number``."""

    model_id: str | None = None
    model_name: str | None = None
    stage: ModelStages | None = None
    tag: str | None = None
    pipeline_run_id: str | None = None  # versions linked to this run
    artifact_version_id: str | None = None  # versions linked to this artifact version
