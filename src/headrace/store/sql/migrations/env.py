"""Alembic environment: migrations run on a connection that ``SqlStore`` hands over."""

from __future__ import annotations

from alembic import context

from headrace.store.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always pass a connection
    raise RuntimeError("headrace migrations must be run through headrace.store.sql.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
