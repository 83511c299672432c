"""Bodies of the HTTP calls that carry several Store arguments at once.

Shared by the server's routers and the RestStore, so both sides agree on one shape.
"""

from typing import Annotated, Any, Literal

from pydantic import Field

from headrace.enums import MetadataResourceType, TaggableResourceType
from headrace.models.artifact import ArtifactVersionRequest
from headrace.models.base import RequestModel
from headrace.models.step_run import StepRunRequest, StepRunUpdate
from headrace.utils.factories import new_dict, new_list

MAX_BATCH = 10_000


class StepRunBatch(RequestModel):
    """Step runs to record in one transaction."""

    step_runs: list[StepRunRequest] = Field(max_length=MAX_BATCH)


class StepRunCompletion(RequestModel):
    """Everything ``Store.complete_step_run`` takes, in one body."""

    update: StepRunUpdate
    outputs: dict[str, list[ArtifactVersionRequest]] = Field(default_factory=new_dict)
    create: list[StepRunRequest] = Field(default_factory=new_list, max_length=MAX_BATCH)
    model_version_id: str | None = None


# Records a remote run's step records travel in (``POST /api/v1/steps/batch``).
MAX_STEP_RECORDS = 1_000
_STEP_RUN_ID = Field(min_length=1, max_length=64)


class StepRunsCreated(RequestModel):
    """``Store.create_step_runs`` as one record of a batch."""

    kind: Literal["create"] = "create"
    step_runs: list[StepRunRequest] = Field(min_length=1, max_length=MAX_BATCH)


class StepRunUpdated(RequestModel):
    """``Store.update_step_run`` as one record of a batch."""

    kind: Literal["update"] = "update"
    step_run_id: str = _STEP_RUN_ID
    update: StepRunUpdate


class StepRunCompleted(StepRunCompletion):
    """``Store.complete_step_run`` as one record of a batch."""

    kind: Literal["complete"] = "complete"
    step_run_id: str = _STEP_RUN_ID


StepRecord = Annotated[
    StepRunsCreated | StepRunUpdated | StepRunCompleted, Field(discriminator="kind")
]


class StepRecordBatch(RequestModel):
    """Step records a client queued, applied in order in one transaction."""

    records: list[StepRecord] = Field(min_length=1, max_length=MAX_STEP_RECORDS)


class ArtifactVersionLookup(RequestModel):
    """Artifact versions to read at once, by id."""

    ids: list[str] = Field(max_length=MAX_BATCH)


class TagChange(RequestModel):
    """Tags to attach to or detach from one resource."""

    resource_type: TaggableResourceType
    resource_id: str = Field(min_length=1, max_length=64)
    tags: list[str] = Field(max_length=1_000)


class MetadataRequest(RequestModel):
    """Metadata to merge into one resource (values and their type names)."""

    resource_type: MetadataResourceType
    resource_id: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any]
    metadata_types: dict[str, str] = Field(default_factory=new_dict)


class ModelVersionLinks(RequestModel):
    """Runs and artifact versions to link to a model version."""

    pipeline_run_ids: list[str] = Field(default_factory=new_list, max_length=MAX_BATCH)
    artifact_version_ids: list[str] = Field(default_factory=new_list, max_length=MAX_BATCH)


class SecretCreate(RequestModel):
    """A new secret."""

    name: str = Field(min_length=1, max_length=255)
    values: dict[str, str]


class SecretUpdate(RequestModel):
    """New or changed keys of a secret."""

    values: dict[str, str]
    replace: bool = False


class PipelineCreate(RequestModel):
    """A pipeline to record (an existing one of that name is returned)."""

    name: str = Field(min_length=1, max_length=255)
    docstring: str | None = Field(default=None, max_length=100_000)
