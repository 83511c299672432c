"""The store's login-attempt counts on SQLite and PostgreSQL: concurrent counts are
never lost, windows start over when they end, counts are taken back, ended windows
are pruned, and every statement finds its rows through an index."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from headrace.store.base import CredentialStore, Store

THREADS = 8
COUNTS_PER_THREAD = 15
START = datetime(2026, 1, 1, tzinfo=UTC)


def test_concurrent_counts_are_never_lost(sql_store: Store) -> None:
    assert isinstance(sql_store, CredentialStore)
    store = sql_store
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(COUNTS_PER_THREAD):
                # Both subjects in each statement, in either order: no deadlock either.
                store.count_login_attempts(["u:alice", "a:10.0.0.1"], START, 60)
                store.count_login_attempts(["a:10.0.0.1", "u:bob"], START, 60)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=count) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    windows = store.login_windows(["u:alice", "u:bob", "a:10.0.0.1", "u:nobody"], START, 60)
    total = THREADS * COUNTS_PER_THREAD
    assert {key: w.attempts for key, w in windows.items()} == {
        "u:alice": total,
        "u:bob": total,
        "a:10.0.0.1": 2 * total,
    }
    assert all(w.window_start == START for w in windows.values())


def test_windows_start_over_are_taken_back_and_pruned(sql_store: Store) -> None:
    assert isinstance(sql_store, CredentialStore)
    store = sql_store
    later = START + timedelta(seconds=30)
    store.count_login_attempts(["u:a", "a:x"], START, 60)
    counted = store.count_login_attempts(["u:a", "a:x"], later, 60)
    assert counted == {"u:a": (2, START), "a:x": (2, START)}
    store.uncount_login_attempts(reset=["u:a"], take_back=["a:x"])
    assert store.login_windows(["u:a", "a:x"], later, 60) == {"u:a": (0, START), "a:x": (1, START)}
    store.uncount_login_attempts(take_back=["a:x", "a:x", "a:never-counted"])
    store.uncount_login_attempts(take_back=["a:x"])
    assert store.login_windows(["a:x"], later, 60) == {"a:x": (0, START)}  # never below 0

    ended = START + timedelta(seconds=60)
    assert store.login_windows(["u:a"], ended, 60) == {}  # the window is over
    assert store.count_login_attempts(["u:a"], ended, 60) == {"u:a": (1, ended)}
    assert store.prune_login_attempts(ended) == 1  # a:x's window started before
    assert store.login_windows(["u:a", "a:x"], ended, 60) == {"u:a": (1, ended)}


def test_the_login_statements_use_indexes(sql_store: Store) -> None:
    """No statement of a login scans the table (checked with the database's own plan)."""
    from headrace.store.sql.store import SqlStore

    assert isinstance(sql_store, SqlStore)
    store = sql_store
    rows = [{"s": f"u:{index:05d}", "at": START} for index in range(2000)]
    with store._sql.write() as conn:
        conn.run_many(
            "INSERT INTO login_attempts (subject, attempts, window_start) VALUES (:s, 1, :at)",
            rows,
        )
        if not store._sql.sqlite:
            conn.run("ANALYZE login_attempts")
    statements = [
        "SELECT subject, attempts, window_start FROM login_attempts "
        "WHERE subject IN (:a, :b) AND window_start > :at",
        "UPDATE login_attempts SET attempts = 0 WHERE subject IN (:a, :b)",
        "DELETE FROM login_attempts WHERE window_start < :at",
    ]
    params = {"a": "u:00001", "b": "u:00002", "at": START - timedelta(seconds=1)}
    explain = "EXPLAIN QUERY PLAN " if store._sql.sqlite else "EXPLAIN "
    for statement in statements:
        with store._sql.write() as conn:
            plan = " ".join(
                str(v)
                for r in conn.execute(explain + statement, params)
                for v in r.as_dict().values()
            )
        assert "SCAN login_attempts" not in plan and "Seq Scan" not in plan, (statement, plan)
