"""Runner output copied into the database while a run runs, so any server can serve it.

Revision ID: 0013_runner_log_chunks
Revises: 0012_login_attempts

The server that launched a run on its own machine (the ``local`` workload manager)
appends its runner's new output here about once a second, one row per chunk keyed by
the byte offset it starts at; ``GET /api/v1/runs/{id}/logs`` on any server sharing the
database reads them until the run ends, when the whole output is kept in
``run_queue.runner_logs`` and the chunks are deleted. A new table: nothing existing is
rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_runner_log_chunks"
down_revision = "0012_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runner_log_chunks",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("start_byte", sa.Integer(), primary_key=True),
        sa.Column("content", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("runner_log_chunks")
