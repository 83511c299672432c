"""The ``login_attempts`` table: brute-force counts shared by every server on one
database (see ``CredentialStore.count_login_attempts``).

Each subject has one row and a fixed window: counting is one upsert for all of a
login's subjects that starts the window over when it has ended, else adds one, and
returns the counts. The upsert is atomic in both databases (SQLite takes the write lock
up front; PostgreSQL locks the conflicting row), so concurrent logins on any number of
servers never lose a count. Every statement finds its rows by primary key; the prune
deletes ended windows through the ``window_start`` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from headrace.store.base import LoginWindow
from headrace.store.sql.database import Record
from headrace.store.sql.repositories.base import SqlContext

_TABLE = "login_attempts"
# A window that started at or before the cutoff has ended: the next count starts over.
_COUNT_SQL = (
    "INSERT INTO login_attempts (subject, attempts, window_start) VALUES {values} "
    "ON CONFLICT (subject) DO UPDATE SET "
    "attempts = CASE WHEN login_attempts.window_start <= :cutoff THEN 1 "
    "ELSE login_attempts.attempts + 1 END, "
    "window_start = CASE WHEN login_attempts.window_start <= :cutoff THEN :at "
    "ELSE login_attempts.window_start END "
    "RETURNING subject, attempts, window_start"
)


def _named(prefix: str, subjects: Sequence[str]) -> dict[str, str]:
    return {f"{prefix}{index}": subject for index, subject in enumerate(subjects)}


def _windows(rows: list[Record]) -> dict[str, LoginWindow]:
    return {row.subject: LoginWindow(int(row.attempts), row.window_start) for row in rows}


class LoginAttemptRepository:
    """Counts, takes back, reads and prunes login attempts."""

    def __init__(self, sql: SqlContext) -> None:
        self.sql = sql

    def count(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        """One attempt more for each subject, in one statement (see the module doc)."""
        if not subjects:
            return {}
        # One order for every caller, so two PostgreSQL upserts of the same subjects
        # lock their rows in the same order and cannot deadlock.
        names = _named("s", sorted(set(subjects)))
        values = ", ".join(f"(:{name}, 1, :at)" for name in names)
        params: dict[str, Any] = {
            **names,
            "at": at,
            "cutoff": at - timedelta(seconds=window_seconds),
        }
        with self.sql.write() as conn:
            rows = conn.execute(_COUNT_SQL.format(values=values), params)
        return _windows(rows)

    def uncount(self, reset: Sequence[str], take_back: Sequence[str]) -> None:
        """Zero the ``reset`` counts and take one from the ``take_back`` ones, in one
        statement."""
        resets = _named("r", sorted(set(reset)))
        others = _named("t", sorted(set(take_back) - set(reset)))
        if not resets and not others:
            return
        everyone = ", ".join(f":{name}" for name in (*resets, *others))
        zero = ", ".join(f":{name}" for name in resets) or "NULL"
        with self.sql.write() as conn:
            conn.run(
                f"UPDATE {_TABLE} SET attempts = CASE WHEN subject IN ({zero}) THEN 0 "
                "WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                f"WHERE subject IN ({everyone})",
                {**resets, **others},
            )

    def windows(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        """The subjects' counts in windows that have not ended at ``at``."""
        names = _named("s", sorted(set(subjects)))
        if not names:
            return {}
        listed = ", ".join(f":{name}" for name in names)
        with self.sql.read() as conn:
            rows = conn.execute(
                f"SELECT subject, attempts, window_start FROM {_TABLE} "
                f"WHERE subject IN ({listed}) AND window_start > :cutoff",
                {**names, "cutoff": at - timedelta(seconds=window_seconds)},
            )
        return _windows(rows)

    def prune(self, before: datetime) -> int:
        """Delete the rows whose window started before ``before``."""
        with self.sql.write() as conn:
            return conn.run(
                f"DELETE FROM {_TABLE} WHERE window_start < :before", {"before": before}
            )
