"""Table definitions for Alembic: what the migrations must produce, and what
``alembic revision --autogenerate`` compares against.

The store does not import this module (SQLAlchemy costs a third of a second to import);
it reads column names and kinds from ``columns.py``. Tests keep the migrations, these
tables and ``columns.py`` in agreement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

ID = String(36)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - drivers normally parse
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


metadata = MetaData()

stacks = Table(
    "stacks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
)

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
    Column("docstring", Text),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), unique=True),
    Column("description", Text),
    Column("pipeline_id", ID, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("stack_id", ID, ForeignKey("stacks.id"), nullable=False),
    Column("spec_hash", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("runnable", Boolean, nullable=False, default=False),
    Column("extra", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("allowed_users", JSON),
    Column("allowed_roles", JSON),
    Index("ix_snapshots_pipeline_hash", "pipeline_id", "spec_hash"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("pipeline_id", ID, ForeignKey("pipelines.id", ondelete="SET NULL")),
    Column("snapshot_id", ID, ForeignKey("snapshots.id", ondelete="SET NULL")),
    Column("stack_id", ID, ForeignKey("stacks.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    Column("config", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("start_time", UTCDateTime),
    Column("end_time", UTCDateTime),
    Column("triggered_by_step_run_id", ID),
    Column("orchestrator_run_id", String(255)),
    Column("unlisted", Boolean, nullable=False, default=False),
    Column("hook_errors", JSON),
    Column("model_version_id", ID),
    Column("run_metadata", JSON),
    Column("run_metadata_types", JSON),
    Column("driver_host", String(255)),
    Column("driver_pid", Integer),
    Column("driver_started", String(64)),
    Column("heartbeat", UTCDateTime),
    Column("stop_requested", String(16)),
    Column("resumed_from_run_id", ID),
    Index("ix_pipeline_runs_pipeline_created", "pipeline_id", "created"),
    Index("ix_pipeline_runs_created", "created", "id"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "pipeline_run_id", ID, ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(255), nullable=False),
    Column("step_name", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    Column("source", Text, nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("cache_key", String(64)),
    Column("parameters", JSON, nullable=False),
    Column("config", JSON, nullable=False),
    Column("docstring", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("start_time", UTCDateTime),
    Column("end_time", UTCDateTime),
    Column("original_step_run_id", ID),
    Column("error", JSON),
    Column("attempts", Integer, nullable=False, default=0),
    Column("logs_uri", Text),
    Column("attempt_errors", JSON),
    Column("hook_errors", JSON),
    Column("model_version_id", ID),
    Column("run_metadata", JSON),
    Column("run_metadata_types", JSON),
    UniqueConstraint("pipeline_run_id", "name", name="uq_step_runs_run_name"),
    Index("ix_step_runs_cache_key", "cache_key", "status"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("has_custom_name", Boolean, nullable=False, default=False),
    Column("version_count", Integer, nullable=False, default=0),
    Column("created", UTCDateTime, nullable=False),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("artifact_id", ID, ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(255), nullable=False),
    Column("version_number", Integer),
    Column("uri", Text, nullable=False),
    Column("materializer", Text, nullable=False),
    Column("data_type", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("python_version", String(32)),
    Column("type", String(64), nullable=False),
    Column("artifact_store_id", ID, ForeignKey("stacks.id"), nullable=False),
    Column("producer_step_run_id", ID, ForeignKey("step_runs.id", ondelete="SET NULL")),
    Column("metadata", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("metadata_types", JSON),
    Column("visualizations", JSON),
    Column("inline_content", LargeBinary),
    UniqueConstraint("artifact_id", "version", name="uq_artifact_versions_version"),
    Index("ix_artifact_versions_created", "created", "id"),
)

step_run_inputs = Table(
    "step_run_inputs",
    metadata,
    Column("step_run_id", ID, ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("artifact_version_id", ID, ForeignKey("artifact_versions.id"), nullable=False),
)

step_run_outputs = Table(
    "step_run_outputs",
    metadata,
    Column("step_run_id", ID, ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("artifact_version_id", ID, ForeignKey("artifact_versions.id"), nullable=False),
)

secrets = Table(
    "secrets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("keys", JSON, nullable=False),
    Column("ciphertext", Text, nullable=False),
)

# -- models, tags (0003) ---------------------------------------------------------------

models = Table(
    "models",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("license", Text),
    Column("audience", Text),
    Column("use_cases", Text),
    Column("limitations", Text),
    Column("trade_offs", Text),
    Column("ethics", Text),
    Column("version_count", Integer, nullable=False, default=0),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("number", Integer, nullable=False),
    Column("stage", String(32)),
    Column("description", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("run_metadata", JSON),
    Column("run_metadata_types", JSON),
    UniqueConstraint("model_id", "name", name="uq_model_versions_name"),
    UniqueConstraint("model_id", "number", name="uq_model_versions_number"),
    Index("ix_model_versions_model_stage", "model_id", "stage"),
)

model_version_runs = Table(
    "model_version_runs",
    metadata,
    Column(
        "model_version_id",
        ID,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "pipeline_run_id", ID, ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("created", UTCDateTime, nullable=False),
    Index("ix_model_version_runs_run", "pipeline_run_id"),
)

model_version_artifacts = Table(
    "model_version_artifacts",
    metadata,
    Column(
        "model_version_id",
        ID,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "artifact_version_id",
        ID,
        ForeignKey("artifact_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("created", UTCDateTime, nullable=False),
    Index("ix_model_version_artifacts_artifact", "artifact_version_id"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
)

# One row per (tag, entity). ``resource_id`` has no foreign key because it points into a
# different table for each ``resource_type``; SqlStore, the only writer, keeps it right.
tag_resources = Table(
    "tag_resources",
    metadata,
    Column("tag_id", ID, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_type", String(32), primary_key=True),
    Column("resource_id", ID, primary_key=True),
    Column("created", UTCDateTime, nullable=False),
    Index("ix_tag_resources_resource", "resource_type", "resource_id"),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("description", Text),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
)

# The key's secret part is stored only as a SHA-256 hash; the row id travels in clear
# inside the key, so a login finds the row by primary key and compares one hash.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "service_account_id",
        ID,
        ForeignKey("service_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("key_hash", String(64), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime),
    Column("last_used", UTCDateTime),
    Column("revoked", Boolean, nullable=False),
    UniqueConstraint("service_account_id", "name", name="uq_api_keys_name"),
)

# -- stack components (0004) -------------------------------------------------------------

stack_components = Table(
    "stack_components",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("flavor", String(255), nullable=False),
    Column("configuration", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    UniqueConstraint("type", "name", name="uq_stack_components_type_name"),
)

stack_composition = Table(
    "stack_composition",
    metadata,
    Column("stack_id", ID, ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
    Column("component_type", String(64), primary_key=True),
    Column("component_id", ID, ForeignKey("stack_components.id"), nullable=False),
    Index("ix_stack_composition_component", "component_id"),
)

# -- run queue (0009) --------------------------------------------------------------------

run_queue = Table(
    "run_queue",
    metadata,
    Column("run_id", ID, ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("schedule_id", ID),
    Column("enqueued_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_at", UTCDateTime),
    Column("handle", String(512)),
    Column("launched_at", UTCDateTime),
    Column("released_at", UTCDateTime),
    Column("runner_logs", Text),
    UniqueConstraint("position", name="uq_run_queue_position"),
    Index("ix_run_queue_claimed", "claimed_at", "released_at"),
)

store_settings = Table(
    "store_settings",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- schedules (0010) ----------------------------------------------------------------------

schedules = Table(
    "schedules",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("pipeline_id", ID, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("snapshot_id", ID, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("cron_expression", String(255)),
    Column("start_time", UTCDateTime),
    Column("end_time", UTCDateTime),
    Column("interval_second", Float),
    Column("run_once_start_time", UTCDateTime),
    Column("catchup", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("next_run_time", UTCDateTime),
    Column("last_run_time", UTCDateTime),
    Column("run_configuration", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Index("ix_schedules_due", "active", "next_run_time"),
    Index("ix_schedules_snapshot", "snapshot_id"),
)

# -- deployments (0011) ------------------------------------------------------------------

deployments = Table(
    "deployments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("snapshot_id", ID, ForeignKey("snapshots.id"), nullable=False),
    Column("stack_id", ID, nullable=False),
    Column("deployer_id", ID, nullable=False),
    Column("flavor", String(255), nullable=False),
    Column("configuration", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    Column("url", String(2048)),
    Column("auth_key_hash", String(255)),
    Column("service_handle", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Index("ix_deployments_snapshot", "snapshot_id"),
)

# -- login attempts (0012) ---------------------------------------------------------------

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("subject", String(80), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Index("ix_login_attempts_window", "window_start"),
)

# -- live runner output (0013) -----------------------------------------------------------

runner_log_chunks = Table(
    "runner_log_chunks",
    metadata,
    Column("run_id", ID, ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("start_byte", Integer, primary_key=True),
    Column("content", Text, nullable=False),
)
