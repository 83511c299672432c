"""Login limits are kept in the database: two ``headrace server`` processes on one
PostgreSQL database count failed logins toward one limit (parallel guesses included),
and a restarted server still refuses a locked user."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from headrace_server import ADMIN_PASSWORD, HeadraceServer

LIMITS = {
    "HEADRACE_SERVER_LOGIN_MAX_FAILURES": "3",
    "HEADRACE_SERVER_LOGIN_MAX_ADDRESS_FAILURES": "100",
    "HEADRACE_SERVER_LOGIN_LOCKOUT_SECONDS": "120",
}


def _login(server: HeadraceServer, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/login",
        data={"username": username, "password": password},
        timeout=120,
    )


def test_two_servers_on_one_database_count_toward_one_limit(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = HeadraceServer(tmp_path / "a", postgres_url, env=LIMITS)
    second = HeadraceServer(tmp_path / "b", postgres_url, env=LIMITS)
    try:
        assert _login(first, "admin", "wrong guess 0").status_code == 401
        assert _login(second, "admin", "wrong guess 1").status_code == 401
        # A success on either server clears the user's count on both.
        assert _login(second, "admin", ADMIN_PASSWORD).status_code == 200
        for attempt, server in enumerate((first, second, first)):
            assert _login(server, "admin", f"wrong guess {attempt}").status_code == 401
        for server in (second, first):  # 3 failures in all: locked on both
            locked = _login(server, "admin", ADMIN_PASSWORD)
            assert locked.status_code == 429, locked.text
            assert "this user" in locked.json()["detail"]
            assert 1 <= int(locked.headers["Retry-After"]) <= 120

        # Parallel guesses against both servers: each is counted before its password
        # is checked, so exactly the limit's worth are checked, whatever the timing.
        def guess(index: int) -> int:
            server = (first, second)[index % 2]
            return _login(server, "alice", f"guess {index}").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(guess, range(12)))
        assert sorted(codes) == [401] * 3 + [429] * 9, codes
    finally:
        first.stop()
        second.stop()


def test_a_restarted_server_keeps_the_lock(tmp_path: Path, migrated_sqlite: Path) -> None:
    server = HeadraceServer(tmp_path, template=migrated_sqlite, env=LIMITS)
    try:
        for attempt in range(3):
            assert _login(server, "admin", f"wrong guess {attempt}").status_code == 401
        before = int(_login(server, "admin", ADMIN_PASSWORD).headers["Retry-After"])
    finally:
        server.stop()
    again = HeadraceServer(tmp_path, server.database_url, env=LIMITS)
    try:
        locked = _login(again, "admin", ADMIN_PASSWORD)
        assert locked.status_code == 429, locked.text
        assert 1 <= int(locked.headers["Retry-After"]) <= before
    finally:
        again.stop()
