"""Accounts: users, service accounts and API keys; who may run a snapshot.

Revision ID: 0005_accounts
Revises: 0004_list_indexes

``users`` hold an argon2 hash of the password, a role (admin, editor, viewer) and an
active flag: deactivating keeps the row, so runs and audit trails still name the user.
``service_accounts`` are identities for programs; their ``api_keys`` are found by
primary key (the id is the clear part of the key) and hold only a SHA-256 hash of the
secret part, an optional expiry, the last use and a revoked flag (revoked keys are kept
so an administrator can see what was revoked and when it was last used).

``snapshots.allowed_users`` / ``allowed_roles`` limit who may run a snapshot on a
server; both nullable, so existing snapshots stay open to every role that may run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0005_accounts"
down_revision = "0004_list_indexes"
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.add_column(sa.Column("allowed_users", sa.JSON()))
        batch.add_column(sa.Column("allowed_roles", sa.JSON()))
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "service_accounts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "service_account_id",
            ID,
            sa.ForeignKey("service_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime()),
        sa.Column("last_used", UTCDateTime()),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("service_account_id", "name", name="uq_api_keys_name"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("service_accounts")
    op.drop_table("users")
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("allowed_roles")
        batch.drop_column("allowed_users")
