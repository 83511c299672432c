"""A SQLAlchemy engine over the store's own connections, for the Alembic migrations.

The store runs its SQL through ``database.py`` without SQLAlchemy; only a migration,
which is rare, pays for importing it. The engine makes its connections with the
store's ``Database``, so they carry the same settings (WAL, busy timeout, foreign keys)
and reach the same database, an in-memory one included.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from headrace.store.sql.database import Database


def migration_engine(database: Database) -> Engine:
    """An engine whose connections come from ``database`` and are closed after use."""
    url = "sqlite://" if database.dialect == "sqlite" else "postgresql+psycopg://"
    return create_engine(url, creator=database.new_connection, poolclass=NullPool)
