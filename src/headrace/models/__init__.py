"""Wire and API models: requests, updates, responses and filters.

Table rows never leave the SQL layer; everything above the Store sees these models, so
the wire format does not move when a column does.

The account models (users, service accounts, API keys, principals) load on first access
(module ``__getattr__``): a pipeline run never needs them, and defining their pydantic
classes costs milliseconds.
"""

from typing import TYPE_CHECKING, Any

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
    ScheduleFilter,
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
from headrace.models.run_queue import QueueEntry
from headrace.models.secret import SecretResponse
from headrace.models.snapshot import SnapshotRequest, SnapshotResponse, SnapshotUpdate
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
from headrace.utils.lazy import lazy_attributes

if TYPE_CHECKING:
    from headrace.models.account import (
        APIKeyFilter,
        APIKeyRequest,
        APIKeyResponse,
        Principal,
        ServiceAccountFilter,
        ServiceAccountRequest,
        ServiceAccountResponse,
        ServiceAccountUpdate,
        UserFilter,
        UserRequest,
        UserResponse,
        UserUpdate,
    )
    from headrace.models.schedule import ScheduleRequest, ScheduleResponse, ScheduleUpdate

_LAZY = dict.fromkeys(
    (
        "APIKeyFilter",
        "APIKeyRequest",
        "APIKeyResponse",
        "Principal",
        "ServiceAccountFilter",
        "ServiceAccountRequest",
        "ServiceAccountResponse",
        "ServiceAccountUpdate",
        "UserFilter",
        "UserRequest",
        "UserResponse",
        "UserUpdate",
    ),
    "account",
)
# Schedules are read by the server and the schedule commands, never by a run.
_LAZY.update(dict.fromkeys(("ScheduleRequest", "ScheduleResponse", "ScheduleUpdate"), "schedule"))
_load = lazy_attributes(__name__, _LAZY)


def __getattr__(name: str) -> Any:  # a def, so type checkers see lazily loaded names
    return _load(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "APIKeyFilter",
    "APIKeyRequest",
    "APIKeyResponse",
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
    "Principal",
    "QueueEntry",
    "ResponseContext",
    "ScheduleFilter",
    "ScheduleRequest",
    "ScheduleResponse",
    "ScheduleUpdate",
    "SecretResponse",
    "ServiceAccountFilter",
    "ServiceAccountRequest",
    "ServiceAccountResponse",
    "ServiceAccountUpdate",
    "SnapshotFilter",
    "SnapshotRequest",
    "SnapshotResponse",
    "SnapshotUpdate",
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
    "UserFilter",
    "UserRequest",
    "UserResponse",
    "UserUpdate",
]
