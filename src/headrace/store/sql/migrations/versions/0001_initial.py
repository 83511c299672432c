"""Initial schema: stacks, pipelines, snapshots, runs, step runs, artifacts.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("docstring", sa.Text()),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), unique=True),
        sa.Column("description", sa.Text()),
        sa.Column(
            "pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("stack_id", ID, sa.ForeignKey("stacks.id"), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("runnable", sa.Boolean(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_snapshots_pipeline_hash", "snapshots", ["pipeline_id", "spec_hash"])
    op.create_table(
        "pipeline_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="SET NULL")),
        sa.Column("snapshot_id", ID, sa.ForeignKey("snapshots.id", ondelete="SET NULL")),
        sa.Column("stack_id", ID, sa.ForeignKey("stacks.id"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text()),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("start_time", UTCDateTime()),
        sa.Column("end_time", UTCDateTime()),
        sa.Column("triggered_by_step_run_id", ID),
        sa.Column("orchestrator_run_id", sa.String(255)),
        sa.Column("unlisted", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_pipeline_runs_pipeline_created", "pipeline_runs", ["pipeline_id", "created"]
    )
    op.create_table(
        "step_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "pipeline_run_id",
            ID,
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("step_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text()),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("cache_key", sa.String(64)),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("docstring", sa.Text()),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("start_time", UTCDateTime()),
        sa.Column("end_time", UTCDateTime()),
        sa.Column("original_step_run_id", ID),
        sa.Column("error", sa.JSON()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("logs_uri", sa.Text()),
        sa.UniqueConstraint("pipeline_run_id", "name", name="uq_step_runs_run_name"),
    )
    op.create_index("ix_step_runs_cache_key", "step_runs", ["cache_key", "status"])
    op.create_table(
        "artifacts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("has_custom_name", sa.Boolean(), nullable=False),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "artifact_id", ID, sa.ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("version_number", sa.Integer()),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("materializer", sa.Text(), nullable=False),
        sa.Column("data_type", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("python_version", sa.String(32)),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("artifact_store_id", ID, sa.ForeignKey("stacks.id"), nullable=False),
        sa.Column("producer_step_run_id", ID, sa.ForeignKey("step_runs.id", ondelete="SET NULL")),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("artifact_id", "version", name="uq_artifact_versions_version"),
    )
    for table in ("step_run_inputs", "step_run_outputs"):
        op.create_table(
            table,
            sa.Column(
                "step_run_id",
                ID,
                sa.ForeignKey("step_runs.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("name", sa.String(255), primary_key=True),
            sa.Column("position", sa.Integer(), primary_key=True),
            sa.Column(
                "artifact_version_id",
                ID,
                sa.ForeignKey("artifact_versions.id"),
                nullable=False,
            ),
        )


def downgrade() -> None:
    for table in (
        "step_run_outputs",
        "step_run_inputs",
        "artifact_versions",
        "artifacts",
        "step_runs",
        "pipeline_runs",
        "snapshots",
        "pipelines",
        "stacks",
    ):
        op.drop_table(table)
