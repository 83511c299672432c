"""Run lifecycle: who drives a run, its heartbeat, stop requests and resumed runs.

Revision ID: 0008_run_lifecycle
Revises: 0005_accounts

``pipeline_runs`` gains the driving process (``driver_host``, ``driver_pid`` and
``driver_started``, the process's start time, so a reused pid is not mistaken for the
driver), the driver's last ``heartbeat``, ``stop_requested`` (``graceful`` or
``immediate``, set by ``headrace pipeline runs stop`` from any process) and
``resumed_from_run_id`` (the failed or stopped run a resumed run continues). All are
nullable: existing rows need no rewrite, and plain ``ADD COLUMN`` keeps the foreign keys
of the step runs that point at the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0008_run_lifecycle"
down_revision = "0005_accounts"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("driver_host", lambda: sa.String(255)),
    ("driver_pid", lambda: sa.Integer()),
    ("driver_started", lambda: sa.String(64)),
    ("heartbeat", lambda: UTCDateTime()),
    ("stop_requested", lambda: sa.String(16)),
    ("resumed_from_run_id", lambda: sa.String(36)),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("pipeline_runs", sa.Column(name, kind()))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
