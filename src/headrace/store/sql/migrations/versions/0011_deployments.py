"""Deployments: snapshots served as long-running HTTP services.

Revision ID: 0011_deployments
Revises: 0010_schedules

One row per deployment: the snapshot it serves, the stack and deployer component that
serve it (the deployer's configuration is copied, so changing the component later does
not change what a running service was started with), its status and URL, the hash of
its bearer key, and the deployer's handle on the service (``service_handle``: process,
container or manifests). A new table: nothing existing is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0011_deployments"
down_revision = "0010_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("snapshot_id", sa.String(36), sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("stack_id", sa.String(36), nullable=False),
        sa.Column("deployer_id", sa.String(36), nullable=False),
        sa.Column("flavor", sa.String(255), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text()),
        sa.Column("url", sa.String(2048)),
        sa.Column("auth_key_hash", sa.String(255)),
        sa.Column("service_handle", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_deployments_snapshot", "deployments", ["snapshot_id"])


def downgrade() -> None:
    op.drop_index("ix_deployments_snapshot", table_name="deployments")
    op.drop_table("deployments")
