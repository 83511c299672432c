"""Enumerations shared by the API, the store and the wire format."""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Status of a pipeline run or a step run; one enum for both."""

    QUEUED = "queued"
    INITIALIZING = "initializing"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    CACHED = "cached"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SKIPPED = "skipped"

    @property
    def is_finished(self) -> bool:
        """Whether nothing more will happen to a run or step in this status."""
        return self in _FINISHED

    @property
    def is_successful(self) -> bool:
        """Whether the outputs of a step in this status can be used downstream."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.CACHED)


_FINISHED = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.CACHED,
        ExecutionStatus.FAILED,
        ExecutionStatus.STOPPED,
        ExecutionStatus.SKIPPED,
    }
)


class ExecutionMode(StrEnum):
    """What the orchestrator does when a step fails."""

    FAIL_FAST = "fail_fast"
    STOP_ON_FAILURE = "stop_on_failure"
    CONTINUE_ON_FAILURE = "continue_on_failure"

    @classmethod
    def _missing_(cls, value: object) -> ExecutionMode | None:
        # Accept the member names too (``CONTINUE_ON_FAILURE``), as YAML files spell them.
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None


class ArtifactType(StrEnum):
    """What kind of thing an artifact holds; informs display, not behaviour."""

    DATA = "DataArtifact"
    MODEL = "ModelArtifact"
    SCHEMA = "SchemaArtifact"
    STATISTICS = "StatisticsArtifact"
    SERVICE = "ServiceArtifact"
    DATA_ANALYSIS = "DataAnalysisArtifact"
    BASE = "BaseArtifact"


class VisualizationType(StrEnum):
    """The format of a file that shows an artifact's value."""

    HTML = "html"
    IMAGE = "image"
    CSV = "csv"
    MARKDOWN = "markdown"
    JSON = "json"


class ModelStages(StrEnum):
    """Stages a model version can be promoted to."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    LATEST = "latest"


class StackComponentType(StrEnum):
    """Kinds of stack components a stack is made of."""

    ORCHESTRATOR = "orchestrator"
    ARTIFACT_STORE = "artifact_store"
    ALERTER = "alerter"
    DEPLOYER = "deployer"

    @property
    def label(self) -> str:
        """How people and the CLI name the type (``artifact store``)."""
        return self.value.replace("_", " ")

    @property
    def required(self) -> bool:
        """Whether every stack must have a component of this type."""
        return self in (StackComponentType.ORCHESTRATOR, StackComponentType.ARTIFACT_STORE)


class DeploymentStatus(StrEnum):
    """Where a deployment's service stands (recorded in the store, checked when read)."""

    PENDING = "pending"  # being provisioned; not answering yet
    RUNNING = "running"
    FAILED = "failed"  # could not start, or its service is gone
    STOPPED = "stopped"  # deprovisioned: the record and its URL stay until deleted
    PROVISIONED = "provisioned"  # manifests written for a cluster to apply (kubernetes)


class TaggableResourceType(StrEnum):
    """Kinds of entities tags can be attached to (stored beside each tag link)."""

    PIPELINE = "pipeline"
    PIPELINE_RUN = "pipeline_run"
    ARTIFACT = "artifact"
    ARTIFACT_VERSION = "artifact_version"
    MODEL = "model"
    MODEL_VERSION = "model_version"


class MetadataResourceType(StrEnum):
    """Kinds of entities run metadata can be attached to."""

    PIPELINE_RUN = "pipeline_run"
    STEP_RUN = "step_run"
    ARTIFACT_VERSION = "artifact_version"
    MODEL_VERSION = "model_version"


class AccountRole(StrEnum):
    """What an account (a user or a service account) may do on a server.

    Viewers read; editors also create and run; admins also manage accounts.
    """

    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class AccountKind(StrEnum):
    """Who holds a token: a person with a password, or a service account with API keys."""

    USER = "user"
    SERVICE_ACCOUNT = "service_account"
