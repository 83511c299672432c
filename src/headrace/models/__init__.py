"""Wire and API models: requests, updates, responses and filters.

Table rows never leave the SQL layer; everything above the Store sees these models, so
the wire format does not move when a column does.
"""

from headrace.models.artifact import (
    ArtifactResponse,
    ArtifactVersionList,
    ArtifactVersionRequest,
    ArtifactVersionResponse,
    ArtifactVisualization,
)
from headrace.models.base import Page, ResponseContext
from headrace.models.filters import (
    ArtifactVersionFilter,
    ModelFilter,
    ModelVersionFilter,
    PipelineFilter,
    PipelineRunFilter,
    SnapshotFilter,
)
from headrace.models.model import (
    ModelResponse,
    ModelVersionRequest,
    ModelVersionResponse,
    ModelVersionUpdate,
)
from headrace.models.pipeline import PipelineResponse
from headrace.models.run import PipelineRunRequest, PipelineRunResponse, PipelineRunUpdate
from headrace.models.secret import SecretResponse
from headrace.models.snapshot import SnapshotRequest, SnapshotResponse
from headrace.models.stack import (
    StackComponentFilter,
    StackComponentRequest,
    StackComponentResponse,
    StackComponentUpdate,
    StackFilter,
    StackRequest,
    StackResponse,
    StackUpdate,
)
from headrace.models.step_run import StepRunError, StepRunRequest, StepRunResponse, StepRunUpdate
from headrace.models.tag import TagResponse

__all__ = [
    "ArtifactResponse",
    "ArtifactVersionFilter",
    "ArtifactVersionList",
    "ArtifactVersionRequest",
    "ArtifactVersionResponse",
    "ArtifactVisualization",
    "ModelFilter",
    "ModelResponse",
    "ModelVersionFilter",
    "ModelVersionRequest",
    "ModelVersionResponse",
    "ModelVersionUpdate",
    "Page",
    "PipelineFilter",
    "PipelineResponse",
    "PipelineRunFilter",
    "PipelineRunRequest",
    "PipelineRunResponse",
    "PipelineRunUpdate",
    "ResponseContext",
    "SecretResponse",
    "SnapshotFilter",
    "SnapshotRequest",
    "SnapshotResponse",
    "StackComponentFilter",
    "StackComponentRequest",
    "StackComponentResponse",
    "StackComponentUpdate",
    "StackFilter",
    "StackRequest",
    "StackResponse",
    "StackUpdate",
    "StepRunError",
    "StepRunRequest",
    "StepRunResponse",
    "StepRunUpdate",
    "TagResponse",
]
