"""Bring a database to the current schema, importing Alembic only when needed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from headrace.exceptions import StoreVersionError
from headrace.store.sql.engine import is_sqlite, sqlite_path
from headrace.store.sql.schema import HEAD_REVISION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(connection: Connection) -> str | None:
    """The schema revision stored in the database, or ``None`` for an empty one."""
    try:
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        if connection.in_transaction():
            connection.rollback()
        return None
    return None if row is None else str(row[0])


def known_revisions() -> set[str]:
    """Revision ids of the migrations shipped with this version."""
    return {p.stem for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py")}


def ensure_schema(engine: Engine, url: str) -> None:
    """Upgrade the database to ``HEAD_REVISION`` if it is behind.

    Raises:
        StoreVersionError: the database was migrated by a newer headrace.
    """
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision not in known_revisions():
        raise StoreVersionError(
            f"The store at {url} has schema revision {revision!r}, which this version of "
            "headrace does not know (it was written by a newer headrace). Upgrade headrace."
        )
    with _migration_lock(engine, url):
        upgrade(engine)


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
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """Serialise migrations between processes (a file lock, or a PostgreSQL advisory lock)."""
    if is_sqlite(url):
        path = sqlite_path(url)
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
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(726354)"))
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(726354)"))
            connection.commit()
