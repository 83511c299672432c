"""Schedules: snapshots a server runs by itself at their fire times.

Revision ID: 0010_schedules
Revises: 0008_run_lifecycle

``schedules`` holds one row per schedule: the snapshot it runs (deleting the snapshot
deletes its schedules), exactly one timing kind (``cron_expression``,
``interval_second`` or ``run_once_start_time``, checked by the store), the optional
``start_time``/``end_time`` bounds, whether it is ``active`` (paused when false), and
``next_run_time``: the scheduler of every server fires a schedule by moving this
column forward with a compare-and-set ``UPDATE``, so a fire time runs once however
many servers share the database. The index serves the scheduler's poll ("active and
due").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0010_schedules"
down_revision = "0009_run_queue"
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column(
            "pipeline_id",
            ID,
            sa.ForeignKey("pipelines.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "snapshot_id",
            ID,
            sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("cron_expression", sa.String(255)),
        sa.Column("start_time", UTCDateTime()),
        sa.Column("end_time", UTCDateTime()),
        sa.Column("interval_second", sa.Float()),
        sa.Column("run_once_start_time", UTCDateTime()),
        sa.Column("catchup", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_run_time", UTCDateTime()),
        sa.Column("last_run_time", UTCDateTime()),
        sa.Column("run_configuration", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_schedules_due", "schedules", ["active", "next_run_time"])
    op.create_index("ix_schedules_snapshot", "schedules", ["snapshot_id"])


def downgrade() -> None:
    op.drop_index("ix_schedules_snapshot", "schedules")
    op.drop_index("ix_schedules_due", "schedules")
    op.drop_table("schedules")
