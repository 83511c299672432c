"""The server's run queue: every run a server starts waits here until it is launched.

Revision ID: 0009_run_queue
Revises: 0008_run_lifecycle

``run_queue`` has one row per run a server started (REST, CLI, SDK, schedule, a step,
the dashboard). ``position`` orders the waiting rows (FIFO); a server claims a row
(``claimed_by``, ``claimed_at``) inside a transaction that also counts the rows in
flight, so the concurrency limit holds across every server on the database; the
workload manager's ``handle`` is kept so any server (or a restarted one) can watch and
stop the runner; ``released_at`` frees the slot once the run ended, and
``runner_logs`` keeps the runner's output. Rows outlive their run's end as its launch
record; they go with the run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0009_run_queue"
down_revision = "0008_run_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_queue",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("schedule_id", sa.String(36)),
        sa.Column("enqueued_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("handle", sa.String(512)),
        sa.Column("launched_at", UTCDateTime()),
        sa.Column("released_at", UTCDateTime()),
        sa.Column("runner_logs", sa.Text()),
        sa.UniqueConstraint("position", name="uq_run_queue_position"),
    )
    op.create_index("ix_run_queue_claimed", "run_queue", ["claimed_at", "released_at"])


def downgrade() -> None:
    op.drop_index("ix_run_queue_claimed", table_name="run_queue")
    op.drop_table("run_queue")
