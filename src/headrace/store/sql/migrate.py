"""Bring a database to the current schema, importing Alembic only when needed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.exceptions import StoreError, StoreVersionError
from headrace.store.sql.database import Database, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration: opening a store checks the schema with one query against this
# instead of importing Alembic. A test keeps it equal to Alembic's head.
HEAD_REVISION = "0014_inline_artifacts"


def current_revision(database: Database) -> str | None:
    """The schema revision stored in the database, or ``None`` for an empty one."""
    try:
        with database.read() as conn:
            value = conn.scalar("SELECT version_num FROM alembic_version")
    except StoreError:
        if database.has_table("alembic_version"):
            raise  # the table is there: the failure is something else, say so
        return None
    return None if value is None else str(value)


def known_revisions() -> set[str]:
    """Revision ids of the migrations shipped with this version."""
    return {p.stem for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py")}


def ensure_schema(database: Database) -> None:
    """Upgrade the database to ``HEAD_REVISION`` if it is behind.

    Raises:
        StoreVersionError: the database was migrated by a newer headrace.
    """
    revision = current_revision(database)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision not in known_revisions():
        raise StoreVersionError(
            f"The store at {database.url} has schema revision {revision!r}, which this "
            "version of headrace does not know (it was written by a newer headrace). "
            "Upgrade headrace."
        )
    from headrace.store.sql.engine import migration_engine

    engine = migration_engine(database)
    try:
        with _migration_lock(database):
            upgrade(engine)
    finally:
        engine.dispose()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Run Alembic migrations up to ``target`` on ``engine``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # all of it, or none of it
        config.attributes["connection"] = connection
        command.upgrade(config, target)


@contextlib.contextmanager
def _migration_lock(database: Database) -> Iterator[None]:
    """Serialise migrations between processes (a file lock, or a PostgreSQL advisory lock)."""
    if database.dialect == "sqlite":
        path = sqlite_path(database.url)
        if path is None:
            yield
            return
        import fcntl

        # The lock file stays: unlinking it would let a waiter and a newcomer hold
        # locks on two different files at once.
        with open(path + ".migrate.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    raw = database.new_connection()
    raw.autocommit = True
    try:
        raw.execute("SELECT pg_advisory_lock(726354)")
        try:
            yield
        finally:
            raw.execute("SELECT pg_advisory_unlock(726354)")
    finally:
        raw.close()
