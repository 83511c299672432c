"""``headrace login | status | logout`` and the account commands against a real server:
the session file (0600), who the CLI acts as, API key logins, the environment's
credentials, and a 403 for a role without the right. Commands run in-process through
Typer's CliRunner (the real code) except one real subprocess using the session."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from headrace.cli.main import app
from headrace.store.factory import forget_stores
from headrace.store.session import session_path
from headrace_server import ADMIN_PASSWORD, HeadraceServer

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))
SOURCES = str(Path(__file__).resolve().parents[3] / "src")


def invoke(*args: str, input: str | None = None) -> Result:
    return RUNNER.invoke(app, list(args), input=input)


@pytest.fixture
def server(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HeadraceServer]:
    """A server, and a working directory with no repository (so only a login or the
    environment can point the CLI at a store)."""
    (tmp_path / "server").mkdir()
    server = HeadraceServer(tmp_path / "server", template=migrated_sqlite)
    elsewhere = tmp_path / "client"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    try:
        yield server
    finally:
        forget_stores()
        server.stop()


def test_login_status_accounts_and_logout(server: HeadraceServer) -> None:
    logged = invoke("login", server.url, "--username", "admin", input=f"{ADMIN_PASSWORD}\n")
    assert logged.exit_code == 0, logged.output
    assert f"Logged in to {server.url} as user 'admin' (admin)." in logged.output
    path = session_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["url"] == server.url and saved["username"] == "admin"
    assert ADMIN_PASSWORD not in path.read_text()

    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert f"Store: {server.url} (headrace server)" in status.stdout
    assert "User: user 'admin' (admin)" in status.stdout and "Token valid until" in status.stdout

    made = invoke("user", "create", "alice", "--role", "editor", "--password", "alice password")
    assert made.exit_code == 0, made.output
    assert "alice" in invoke("user", "list").stdout
    assert invoke("service-account", "create", "ci", "--role", "editor").exit_code == 0
    created = invoke("service-account", "api-key", "ci", "create", "deploy")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("hrk_")

    # In another process, the session is all it needs.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    environment.update(PYTHONPATH=SOURCES, HEADRACE_CONFIG_PATH=os.environ["HEADRACE_CONFIG_PATH"])
    listed = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "service-account", "list"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "ci" in listed.stdout

    out = invoke("logout")
    assert out.exit_code == 0 and f"Logged out of {server.url}." in out.output
    assert not path.exists()
    local = invoke("status")
    assert "(local SQLite)" in local.stdout and "User: none" in local.stdout

    as_key = invoke("login", server.url, "--api-key", key)
    assert as_key.exit_code == 0, as_key.output
    assert "as service account 'ci' (editor)" in as_key.output
    refused = invoke("user", "list")  # editors do not manage accounts
    assert refused.exit_code == 1
    assert "may not manage users, service accounts and API keys" in refused.output
    assert "needs the admin role" in refused.output


def test_wrong_credentials_and_unreachable_servers_are_one_error_line(
    server: HeadraceServer,
) -> None:
    wrong = invoke("login", server.url, "-u", "admin", "--password", "not the password")
    assert wrong.exit_code == 1
    assert wrong.output.strip() == "Error: Wrong user name or password."
    assert not session_path().exists()
    bad_key = invoke("login", server.url, "--api-key", "hrk_nonsense")
    assert bad_key.exit_code == 1 and "The API key is not valid." in bad_key.output
    nowhere = invoke("login", "http://127.0.0.1:9", "-u", "admin", "--password", "x")
    assert nowhere.exit_code == 1 and "Cannot reach the headrace server" in nowhere.output
    not_a_url = invoke("login", "127.0.0.1:8237", "-u", "admin", "--password", "x")
    assert not_a_url.exit_code == 1 and "not a server URL" in not_a_url.output


def test_the_environment_credentials_win_over_the_session(
    server: HeadraceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("login", server.url, "-u", "admin", "--password", ADMIN_PASSWORD).exit_code == 0
    server.http.post(
        f"{server.url}/api/v1/users",
        json={"name": "vera", "role": "viewer", "password": "vera password"},
    ).raise_for_status()
    monkeypatch.setenv("HEADRACE_STORE_URL", server.url)
    monkeypatch.setenv("HEADRACE_STORE_API_TOKEN", server.token("vera", "vera password"))
    forget_stores()
    status = invoke("status")
    assert "User: user 'vera' (viewer)" in status.stdout, status.output
    monkeypatch.setenv("HEADRACE_STORE_API_TOKEN", "not-a-token")
    forget_stores()
    broken = invoke("status")
    assert broken.exit_code == 1 and "The token is not valid" in broken.output
