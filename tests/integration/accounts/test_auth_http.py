"""Logins, tokens and API keys against real ``headrace server`` subprocesses (SQLite and
PostgreSQL): the first admin, the OAuth2 login answer, deactivation, revocation and role
changes taking effect on the very next request, expired and forged tokens, and the
brute-force limits per user and per address."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import jwt
import pytest

from headrace_server import ADMIN_PASSWORD, HeadraceServer

PASSWORD = "a long enough password"


def _login(server: HeadraceServer, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/login",
        data={"username": username, "password": password},
        timeout=60,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _admin_post(server: HeadraceServer, path: str, body: dict[str, object]) -> httpx.Response:
    answer = httpx.post(
        f"{server.url}/api/v1{path}", json=body, headers=server.headers(), timeout=60
    )
    assert answer.status_code in (200, 201), answer.text
    return answer


def _runs(server: HeadraceServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/runs", headers=headers, timeout=60)


def test_the_first_start_prints_a_one_time_admin_password_once(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'fresh.db'}"
    server = HeadraceServer(tmp_path, database, env={"HEADRACE_DEFAULT_PASSWORD": ""})
    try:
        match = re.search(r"one-time password:\s+(\S+)", server.log())
        assert match is not None, server.log()
        password = match.group(1)
        answer = _login(server, "admin", password)
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
    finally:
        server.stop()
    again = HeadraceServer(tmp_path, database, env={"HEADRACE_DEFAULT_PASSWORD": ""})
    try:
        assert "one-time password" not in again.log()
        # The signing secret was kept (0600, beside the database): tokens outlive restarts.
        assert _runs(again, _bearer(token)).status_code == 200
        assert (tmp_path / "jwt.secret").stat().st_mode & 0o777 == 0o600
    finally:
        again.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_login_answers_an_oauth2_token_and_deactivation_stops_it_at_once(
    tmp_path: Path, migrated_sqlite: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    if backend == "sqlite":
        server = HeadraceServer(tmp_path, template=migrated_sqlite)
    else:
        server = HeadraceServer(tmp_path, request.getfixturevalue("postgres_url"))
    try:
        _admin_post(server, "/users", {"name": "alice", "role": "editor", "password": PASSWORD})
        answer = _login(server, "alice", PASSWORD)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer" and body["expires_in"] == 24 * 60 * 60
        alice = _bearer(body["access_token"])
        me = httpx.get(f"{server.url}/api/v1/current-user", headers=alice, timeout=60).json()
        assert (me["name"], me["role"], me["kind"]) == ("alice", "editor", "user")
        created = httpx.post(
            f"{server.url}/api/v1/pipelines", json={"name": "p"}, headers=alice, timeout=60
        )
        assert created.status_code == 201, created.text

        demoted = httpx.put(
            f"{server.url}/api/v1/users/alice",
            json={"role": "viewer"},
            headers=server.headers(),
            timeout=60,
        )
        assert demoted.status_code == 200, demoted.text
        refused = httpx.post(
            f"{server.url}/api/v1/pipelines", json={"name": "q"}, headers=alice, timeout=60
        )
        assert refused.status_code == 403  # the same token, the new role
        assert _runs(server, alice).status_code == 200

        httpx.put(
            f"{server.url}/api/v1/users/alice",
            json={"active": False},
            headers=server.headers(),
            timeout=60,
        ).raise_for_status()
        gone = _runs(server, alice)
        assert gone.status_code == 401 and "'alice' is deactivated" in gone.json()["detail"]
        assert gone.headers["WWW-Authenticate"] == "Bearer"
        assert _login(server, "alice", PASSWORD).status_code == 401
    finally:
        server.stop()


def test_api_keys_log_in_as_password_or_header_and_revocation_stops_them(
    headrace_server: HeadraceServer,
) -> None:
    server = headrace_server
    _admin_post(server, "/service_accounts", {"name": "ci", "role": "editor"})
    made = _admin_post(server, "/service_accounts/ci/api_keys", {"name": "deploy"}).json()
    key = made["key"]
    assert key.startswith("hrk_")
    listed = httpx.get(
        f"{server.url}/api/v1/service_accounts/ci/api_keys", headers=server.headers(), timeout=60
    ).json()
    assert [item["key"] for item in listed["items"]] == [None]  # shown once only

    by_form = httpx.post(f"{server.url}/api/v1/login", data={"password": key}, timeout=60)
    assert by_form.status_code == 200, by_form.text
    token = _bearer(by_form.json()["access_token"])
    header = {"X-API-Key": key}
    for credentials in (token, header):
        me = httpx.get(f"{server.url}/api/v1/current-user", headers=credentials, timeout=60)
        assert me.json()["name"] == "ci" and me.json()["kind"] == "service_account"

    revoke = f"{server.url}/api/v1/service_accounts/ci/api_keys/deploy/revoke"
    httpx.post(revoke, headers=server.headers(), timeout=60).raise_for_status()
    for credentials in (token, header):
        answer = _runs(server, credentials)
        assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    assert httpx.post(f"{server.url}/api/v1/login", data={"password": key}).status_code == 401

    second = _admin_post(server, "/service_accounts/ci/api_keys", {"name": "next"}).json()
    assert _runs(server, {"X-API-Key": second["key"]}).status_code == 200
    httpx.put(
        f"{server.url}/api/v1/service_accounts/ci",
        json={"active": False},
        headers=server.headers(),
        timeout=60,
    ).raise_for_status()
    assert _runs(server, {"X-API-Key": second["key"]}).status_code == 401

    past = "2020-01-01T00:00:00Z"
    _admin_post(server, "/service_accounts", {"name": "old", "role": "viewer"})
    expired = _admin_post(
        server, "/service_accounts/old/api_keys", {"name": "k", "expires": past}
    ).json()
    answer = _runs(server, {"X-API-Key": expired["key"]})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_expired_forged_and_foreign_tokens_are_refused(headrace_server: HeadraceServer) -> None:
    server = headrace_server
    secret = (server.directory / "jwt.secret").read_text().strip()
    claims = jwt.decode(server.token(), secret, algorithms=["HS256"], issuer="headrace")
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 120, "exp": now - 60}, secret, "HS256")
    answer = _runs(server, _bearer(expired))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    forged = jwt.encode(claims, "x" * 40, "HS256")
    assert _runs(server, _bearer(forged)).status_code == 401
    assert (
        _runs(server, _bearer(jwt.encode({**claims, "sub": "nobody"}, secret, "HS256"))).status_code
        == 401
    )
    assert _runs(server, server.headers()).status_code == 200


def test_failed_logins_lock_the_user_then_the_address(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    limits = {
        "HEADRACE_SERVER_LOGIN_MAX_FAILURES": "3",
        "HEADRACE_SERVER_LOGIN_MAX_ADDRESS_FAILURES": "6",
        "HEADRACE_SERVER_LOGIN_LOCKOUT_SECONDS": "15",  # argon2 is slow on a busy machine
    }
    server = HeadraceServer(tmp_path, template=migrated_sqlite, env=limits)
    try:
        token = server.token()  # before any failure
        for attempt in range(3):
            assert _login(server, "admin", f"wrong guess {attempt}").status_code == 401
        locked = _login(server, "admin", ADMIN_PASSWORD)  # right password, still locked
        assert locked.status_code == 429, locked.text
        assert locked.json()["error"] == "TooManyAttemptsError"
        assert 1 <= int(locked.headers["Retry-After"]) <= 15
        assert _runs(server, _bearer(token)).status_code == 200  # tokens are not locked

        for name in ("a", "b", "c"):  # other users, same address: 6 failures in all
            assert _login(server, name, "wrong password").status_code == 401
        address_locked = _login(server, "someone-else", "any password")
        assert address_locked.status_code == 429
        assert "this address" in address_locked.json()["detail"]

        time.sleep(int(address_locked.headers["Retry-After"]) + 1.0)
        assert _login(server, "admin", ADMIN_PASSWORD).status_code == 200
    finally:
        server.stop()


def test_login_refuses_bad_forms_with_4xx(headrace_server: HeadraceServer) -> None:
    url = f"{headrace_server.url}/api/v1/login"
    assert httpx.post(url, data={"username": "admin"}, timeout=60).status_code == 422
    assert httpx.post(url, json={"username": "a", "password": "b"}, timeout=60).status_code == 422
    extra = httpx.post(url, data={"password": "x", "role": "admin"}, timeout=60)
    assert extra.status_code == 422
    grant = httpx.post(url, data={"password": "x", "grant_type": "client_credentials"})
    assert grant.status_code == 422
    no_user = httpx.post(url, data={"password": "not a key"}, timeout=60)
    assert no_user.status_code == 401 and "user name and password" in no_user.json()["detail"]
