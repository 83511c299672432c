"""Engines: SQLite tuned for concurrent local use, PostgreSQL for servers."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from headrace.utils.env import ENV_SQLITE_SYNCHRONOUS

SQLITE_BUSY_TIMEOUT_S = 60.0


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return url.startswith("sqlite")


def sqlite_path(url: str) -> str | None:
    """The file path of a SQLite URL (``None`` for in-memory)."""
    database = make_url(url).database
    return database if database and database != ":memory:" else None


def create_store_engine(url: str) -> Engine:
    """Create the engine for a store URL.

    SQLite: WAL journal so readers never block the writer, a busy timeout so two
    processes can run pipelines against one file, foreign keys on, and no implicit
    transactions; ``SqlStore`` opens write transactions with ``BEGIN IMMEDIATE`` itself so
    a read never has to be upgraded to a write (which SQLite refuses without waiting).
    """
    if is_sqlite(url):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )
    synchronous = os.environ.get(ENV_SQLITE_SYNCHRONOUS, "NORMAL").upper()
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(
            f"{ENV_SQLITE_SYNCHRONOUS}={synchronous!r}: expected OFF, NORMAL, FULL or EXTRA."
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
