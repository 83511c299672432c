"""Small artifacts kept in their artifact version's record.

Revision ID: 0014_inline_artifacts
Revises: 0013_runner_log_chunks

A nullable binary column ``artifact_versions.inline_content`` holds the files of an
artifact small enough to be kept in the database (``headrace.artifacts.inline`` describes
the encoding); for those versions nothing is written to the artifact store and ``uri`` is
the directory the files would have had. Existing rows keep ``NULL``: their files stay in
the artifact store, read as before.

Downgrading drops the column, and with it the only copy of every inline artifact, so it
refuses while any version holds bytes there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_inline_artifacts"
down_revision = "0013_runner_log_chunks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_versions") as batch:
        batch.add_column(sa.Column("inline_content", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    held = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM artifact_versions WHERE inline_content IS NOT NULL"))
        .scalar()
    )
    if held:
        raise RuntimeError(
            f"Refusing to downgrade below 0014_inline_artifacts: {held} artifact version(s) "
            "keep their bytes only in artifact_versions.inline_content, which the downgrade "
            "would drop. The way back to an older headrace is the backup taken before the "
            "upgrade (docs: how-to/backup-and-upgrade)."
        )
    with op.batch_alter_table("artifact_versions") as batch:
        batch.drop_column("inline_content")
