"""Visualizations of artifact versions.

Revision ID: 0004_artifact_visualizations
Revises: 0003_models_tags_metadata

A materializer may write files that show a value (HTML, Markdown, CSV, JSON, an image)
inside the artifact's directory; ``artifact_versions.visualizations`` lists them as JSON
(``[{"uri": ..., "type": ...}]``). They are always read with their version and never
filtered on, so a column rather than a table; nullable, so existing rows need no rewrite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_artifact_visualizations"
down_revision = "0003_models_tags_metadata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_versions") as batch:
        batch.add_column(sa.Column("visualizations", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("artifact_versions") as batch:
        batch.drop_column("visualizations")
