"""``headrace user``, ``service-account``, ``api-key`` and ``snapshot access`` against a
real repository store, in-process through Typer's CliRunner (the real code)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from headrace.cli.accounts import parse_duration
from headrace.cli.main import app
from headrace.client import Client
from headrace.enums import AccountRole
from headrace.exceptions import AuthenticationError, ConfigurationError
from headrace.store.base import CredentialStore

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))
PASSWORD = "correct horse battery"


def invoke(*args: str, input: str | None = None) -> Result:
    return RUNNER.invoke(app, list(args), input=input)


def _credentials() -> CredentialStore:
    store = Client().store
    assert isinstance(store, CredentialStore)
    return store


def test_user_create_list_update_and_deactivate(repo: Path) -> None:
    created = invoke("user", "create", "alice", "--role", "editor", "--password", PASSWORD)
    assert created.exit_code == 0, created.output
    assert "Created user 'alice' with role editor." in created.output
    prompted = invoke("user", "create", "bob", input="another passphrase\nanother passphrase\n")
    assert prompted.exit_code == 0, prompted.output
    assert "another passphrase" not in prompted.output
    assert _credentials().authenticate_user("bob", "another passphrase").role == "viewer"

    listed = invoke("user", "list")
    assert listed.exit_code == 0
    lines = [line.split() for line in listed.stdout.splitlines()[2:]]
    assert [line[:3] for line in lines] == [
        ["alice", "editor", "active"],
        ["bob", "viewer", "active"],
    ]
    assert invoke("user", "list", "--role", "viewer").stdout.count("bob") == 1

    assert invoke("user", "update", "bob", "--role", "admin").exit_code == 0
    changed = invoke(
        "user", "update", "alice", "--prompt-password", input="new pass 1234\nnew pass 1234\n"
    )
    assert changed.exit_code == 0 and "password changed" in changed.output
    assert _credentials().authenticate_user("alice", "new pass 1234").name == "alice"
    assert invoke("user", "deactivate", "alice").exit_code == 0
    with pytest.raises(AuthenticationError, match="deactivated"):
        _credentials().authenticate_user("alice", "new pass 1234")
    assert "deactivated" in invoke("user", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("user", "create", "x", "--password", "short"),
            "password: the password must have at least 8",
        ),
        (
            ("user", "create", "../etc", "--password", PASSWORD),
            "name: '../etc' is not a valid name",
        ),
        (("user", "update", "nobody", "--role", "admin"), "No user has the name or id 'nobody'"),
        (("user", "update", "root"), "Nothing to change"),
        (("user", "deactivate", "root"), "'root' is the last active admin"),
        (("service-account", "api-key", "ghost", "list"), "No service account has the name or id"),
    ],
)
def test_bad_account_input_is_one_clear_error_line(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    Client().create_user("root", PASSWORD, role=AccountRole.ADMIN)
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output


def test_an_unknown_role_is_refused_naming_the_choices(repo: Path) -> None:
    result = invoke("user", "create", "x", "--role", "owner", "--password", PASSWORD)
    assert result.exit_code == 2
    assert "'admin', 'editor', 'viewer'" in result.output


def test_service_accounts_and_keys_shown_once_then_revoked(repo: Path) -> None:
    created = invoke("service-account", "create", "ci", "--role", "editor", "--description", "CI")
    assert created.exit_code == 0, created.output
    made = invoke("service-account", "api-key", "ci", "create", "deploy", "--expires-in", "30d")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("hrk_") and "\n" not in key  # alone on stdout, for $(...)
    assert "not shown again" in made.stderr and key not in made.stderr
    assert _credentials().authenticate_api_key(key).name == "ci"

    listed = invoke("service-account", "api-key", "ci", "list")
    assert "deploy" in listed.stdout and key not in listed.stdout
    assert key[20:] not in invoke("service-account", "list").stdout
    revoked = invoke("service-account", "api-key", "ci", "revoke", "deploy")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in invoke("service-account", "api-key", "ci", "list").stdout
    with pytest.raises(AuthenticationError, match="revoked"):
        _credentials().authenticate_api_key(key)

    again = invoke("service-account", "api-key", "ci", "create", "deploy")
    assert again.exit_code == 1 and "already has an API key named 'deploy'" in again.output
    assert invoke("service-account", "deactivate", "ci").exit_code == 0
    assert "deactivated" in invoke("service-account", "list").stdout


def test_expiry_durations() -> None:
    assert parse_duration("90d").days == 90
    assert parse_duration("12h").total_seconds() == 12 * 3600
    assert parse_duration(" 1.5w ").days == 10
    for bad in ("soon", "0d", "-1h", "10y", "d"):
        with pytest.raises(ConfigurationError, match="not a duration"):
            parse_duration(bad)


PROJECT = """
from headrace import pipeline, step


@step
def one() -> int:
    return 1


@pipeline
def access_pipeline() -> None:
    one()
"""


def _snapshot(repo: Path, name: str) -> None:
    """A named snapshot of a project written into the repository (its code is archived)."""
    (repo / "access_project.py").write_text(PROJECT)
    sys.path.insert(0, str(repo))
    try:
        module = importlib.import_module("access_project")
        module.access_pipeline.create_snapshot(name=name)
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("access_project", None)


def test_snapshot_access_is_shown_set_and_cleared(repo: Path) -> None:
    _snapshot(repo, "train")
    Client().create_user("alice", PASSWORD)
    shown = invoke("pipeline", "snapshot", "access", "train")
    assert shown.exit_code == 0, shown.output
    assert "Anyone with the editor or admin role may run it." in shown.stdout
    limited = invoke(
        "pipeline", "snapshot", "access", "train", "--user", "alice", "--role", "editor"
    )
    assert limited.exit_code == 0, limited.output
    assert "Only user alice, role editor (and admins) may run it." in limited.stdout
    assert Client().get_snapshot("train").allowed_users == ["alice"]
    typo = invoke("pipeline", "snapshot", "access", "train", "--user", "alcie")
    assert typo.exit_code == 1 and "No user or service account is named 'alcie'" in typo.output
    cleared = invoke("pipeline", "snapshot", "access", "train", "--clear")
    assert "Anyone" in cleared.stdout and not Client().get_snapshot("train").restricted
