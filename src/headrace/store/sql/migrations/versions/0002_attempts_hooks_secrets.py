"""Retry attempts and hook errors on runs and steps; encrypted secrets.

Revision ID: 0002_attempts_hooks_secrets
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0002_attempts_hooks_secrets"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("attempt_errors", sa.JSON()))
        batch.add_column(sa.Column("hook_errors", sa.JSON()))
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.add_column(sa.Column("hook_errors", sa.JSON()))
    op.create_table(
        "secrets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.drop_column("hook_errors")
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("hook_errors")
        batch.drop_column("attempt_errors")
