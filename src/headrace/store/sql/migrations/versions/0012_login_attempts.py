"""Login attempts: the brute-force counts every server replica shares.

Revision ID: 0012_login_attempts
Revises: 0011_deployments

One row per counted subject (a hashed user name or client address, ``u:``/``a:`` and a
SHA-256): the attempts in its current fixed window and when that window started. The
primary key is what every login reads and upserts; the index on ``window_start`` lets
the periodic prune delete ended windows without a scan. A new table: nothing existing
is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0012_login_attempts"
down_revision = "0011_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_attempts_window", "login_attempts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_window", table_name="login_attempts")
    op.drop_table("login_attempts")
