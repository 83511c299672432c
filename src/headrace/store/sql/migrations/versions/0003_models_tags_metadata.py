"""Models and model versions, tags as a table, typed run metadata.

Revision ID: 0003_models_tags_metadata
Revises: 0002_attempts_hooks_secrets

Models: ``models`` and ``model_versions`` (numbered per model, unique name and number,
an optional stage), with link tables to the runs and artifact versions of each version.
Step runs and runs remember the model version they worked on (``model_version_id``).

Tags: ``tags`` (one row per name) and ``tag_resources`` (tag, resource type, resource
id), so filtering by tag is an indexed join, never a scan of JSON columns. The existing
``pipeline_runs.tags`` and ``artifact_versions.tags`` JSON columns are kept as the read
copy and written in the same transaction as the links: responses of runs and artifact
versions are read on hot paths (every cache hit reads its outputs) and stay one query,
while ``tag_resources`` is the source of truth for filters. Pipelines, artifacts and
models have no JSON copy; their tags are read from the links. This migration fills
``tag_resources`` from the JSON columns, so existing tags can be filtered on at once.

Metadata: stored on the row it describes, as JSON values plus a JSON map of each
value's type name (``*_types``), so ``Uri``, ``Path``, tuples, ... come back typed.
Metadata is always read together with its owner and never filtered on, so a separate
key/value table would add a query to every read and buy nothing; the columns are
nullable so existing rows need no rewrite (no types recorded means plain JSON).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0003_models_tags_metadata"
down_revision = "0002_attempts_hooks_secrets"
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    _add_columns()
    _create_model_tables()
    _create_tag_tables()
    _backfill_tags()


def _add_columns() -> None:
    for table in ("pipeline_runs", "step_runs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("model_version_id", ID))
            batch.add_column(sa.Column("run_metadata", sa.JSON()))
            batch.add_column(sa.Column("run_metadata_types", sa.JSON()))
    with op.batch_alter_table("artifact_versions") as batch:
        batch.add_column(sa.Column("metadata_types", sa.JSON()))


def _create_model_tables() -> None:
    op.create_table(
        "models",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("license", sa.Text()),
        sa.Column("audience", sa.Text()),
        sa.Column("use_cases", sa.Text()),
        sa.Column("limitations", sa.Text()),
        sa.Column("trade_offs", sa.Text()),
        sa.Column("ethics", sa.Text()),
        sa.Column("version_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("model_id", ID, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(32)),
        sa.Column("description", sa.Text()),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("run_metadata", sa.JSON()),
        sa.Column("run_metadata_types", sa.JSON()),
        sa.UniqueConstraint("model_id", "name", name="uq_model_versions_name"),
        sa.UniqueConstraint("model_id", "number", name="uq_model_versions_number"),
    )
    op.create_index("ix_model_versions_model_stage", "model_versions", ["model_id", "stage"])
    op.create_table(
        "model_version_runs",
        sa.Column(
            "model_version_id",
            ID,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "pipeline_run_id",
            ID,
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_model_version_runs_run", "model_version_runs", ["pipeline_run_id"])
    op.create_table(
        "model_version_artifacts",
        sa.Column(
            "model_version_id",
            ID,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "artifact_version_id",
            ID,
            sa.ForeignKey("artifact_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_model_version_artifacts_artifact", "model_version_artifacts", ["artifact_version_id"]
    )


def _create_tag_tables() -> None:
    op.create_table(
        "tags",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "tag_resources",
        sa.Column("tag_id", ID, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("resource_type", sa.String(32), primary_key=True),
        sa.Column("resource_id", ID, primary_key=True),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_tag_resources_resource", "tag_resources", ["resource_type", "resource_id"])


def _backfill_tags() -> None:
    """Link every tag already in ``pipeline_runs.tags`` / ``artifact_versions.tags``."""
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    tag_ids: dict[str, str] = {}
    links: list[dict[str, object]] = []
    for table, resource_type in (
        ("pipeline_runs", "pipeline_run"),
        ("artifact_versions", "artifact_version"),
    ):
        source = sa.table(table, sa.column("id", ID), sa.column("tags", sa.JSON()))
        for row in conn.execute(sa.select(source.c.id, source.c.tags)):
            for name in dict.fromkeys(row.tags or []):
                tag_id = tag_ids.setdefault(str(name), str(uuid.uuid4()))
                links.append(
                    {
                        "tag_id": tag_id,
                        "resource_type": resource_type,
                        "resource_id": row.id,
                        "created": now,
                    }
                )
    if not tag_ids:
        return
    tags = sa.table("tags", sa.column("id", ID), sa.column("name", sa.String), sa.column("created"))
    conn.execute(
        sa.insert(tags), [{"id": i, "name": n, "created": now} for n, i in tag_ids.items()]
    )
    tag_resources = sa.table(
        "tag_resources",
        sa.column("tag_id", ID),
        sa.column("resource_type", sa.String),
        sa.column("resource_id", ID),
        sa.column("created"),
    )
    conn.execute(sa.insert(tag_resources), links)


def downgrade() -> None:
    op.drop_table("tag_resources")
    op.drop_table("tags")
    op.drop_table("model_version_artifacts")
    op.drop_table("model_version_runs")
    op.drop_table("model_versions")
    op.drop_table("models")
    with op.batch_alter_table("artifact_versions") as batch:
        batch.drop_column("metadata_types")
    for table in ("step_runs", "pipeline_runs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("run_metadata_types")
            batch.drop_column("run_metadata")
            batch.drop_column("model_version_id")
