"""Stack components as records: a stack references one component per type.

Revision ID: 0005_stack_components
Revises: 0004_artifact_visualizations

``stack_components`` holds named components (unique per type): a flavor and its JSON
configuration. ``stack_composition`` links a stack to one component per type; the
reference to the component has no cascade, so a component a stack uses cannot be
deleted (the store says which stack uses it before the database would refuse).
``store_settings`` holds per-store values: the active stack, and a token every change to
stacks or components renews (stores cache the stacks they read while it stays the same).

Existing stacks keep their ids (runs, snapshots and artifact versions point at them);
the components in each stack's JSON become records, named ``default`` for the stack
named ``default`` (as in a fresh repository) and after their stack otherwise. The
``stacks.components`` column is then dropped with a plain ``ALTER TABLE ... DROP
COLUMN`` (SQLite 3.35+): rebuilding the table, as Alembic's batch mode does, would trip
the foreign keys of every run that points at it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from headrace.store.sql.schema import UTCDateTime

revision = "0005_stack_components"
down_revision = "0004_artifact_visualizations"
branch_labels = None
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "stack_components",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("flavor", sa.String(255), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("type", "name", name="uq_stack_components_type_name"),
    )
    op.create_table(
        "stack_composition",
        sa.Column("stack_id", ID, sa.ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("component_type", sa.String(64), primary_key=True),
        sa.Column("component_id", ID, sa.ForeignKey("stack_components.id"), nullable=False),
    )
    op.create_index("ix_stack_composition_component", "stack_composition", ["component_id"])
    op.create_table(
        "store_settings",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    _components_from_json()
    op.execute("ALTER TABLE stacks DROP COLUMN components")
    # Stores cache the stacks they read while this token stays the same (see stacks.py).
    op.get_bind().execute(
        sa.text("INSERT INTO store_settings (name, value) VALUES ('stacks_version', :token)"),
        {"token": uuid.uuid4().hex},
    )


def _components_from_json() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = conn.execute(sa.text("SELECT id, name, components FROM stacks")).fetchall()
    for stack_id, stack_name, raw in rows:
        components: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw or {}
        name = "default" if stack_name == "default" else stack_name
        for component_type, config in components.items():
            configuration = dict(config)
            flavor = str(configuration.pop("flavor", "local"))
            component_id = str(uuid.uuid4())
            conn.execute(
                sa.text(
                    "INSERT INTO stack_components (id, name, type, flavor, configuration, "
                    "created, updated) VALUES (:id, :name, :type, :flavor, :configuration, "
                    ":created, :created)"
                ),
                {
                    "id": component_id,
                    "name": name,
                    "type": component_type,
                    "flavor": flavor,
                    "configuration": json.dumps(configuration),
                    "created": now,
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO stack_composition (stack_id, component_type, component_id) "
                    "VALUES (:stack, :type, :component)"
                ),
                {"stack": stack_id, "type": component_type, "component": component_id},
            )


def downgrade() -> None:
    op.add_column("stacks", sa.Column("components", sa.JSON(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT stack_composition.stack_id, stack_composition.component_type, "
            "stack_components.flavor, stack_components.configuration FROM stack_composition "
            "JOIN stack_components ON stack_components.id = stack_composition.component_id"
        )
    ).fetchall()
    stacks: dict[str, dict[str, Any]] = {}
    for stack_id, component_type, flavor, raw in rows:
        config = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
        stacks.setdefault(stack_id, {})[component_type] = {"flavor": flavor, **config}
    for stack_id, components in stacks.items():
        conn.execute(
            sa.text("UPDATE stacks SET components = :components WHERE id = :id"),
            {"components": json.dumps(components), "id": stack_id},
        )
    op.drop_table("store_settings")
    op.drop_index("ix_stack_composition_component", "stack_composition")
    op.drop_table("stack_composition")
    op.drop_table("stack_components")
