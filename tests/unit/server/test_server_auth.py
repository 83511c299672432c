"""The server's account core without HTTP: tokens, the signing secret, login limits,
permissions, the first admin, and the Authenticator over a real SQL store."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import jwt
import pytest

from headrace.enums import AccountKind, AccountRole
from headrace.exceptions import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    TooManyAttemptsError,
)
from headrace.models import (
    APIKeyRequest,
    Principal,
    ServiceAccountRequest,
    SnapshotResponse,
    UserRequest,
    UserUpdate,
)
from headrace.server.auth import (
    Authenticator,
    LoginLimiter,
    Permission,
    TokenIssuer,
    ensure_first_admin,
    has_permission,
    load_or_create_secret,
    may_run_snapshot,
    require,
    require_run_snapshot,
)
from headrace.store import credentials
from headrace.store.sql.store import SqlStore

SECRET = "s" * 40
PASSWORD = "correct horse battery"


def _principal(role: AccountRole = AccountRole.EDITOR, name: str = "alice") -> Principal:
    return Principal(kind=AccountKind.USER, id="0" * 8, name=name, role=role)


# -- tokens -------------------------------------------------------------------------------
def test_a_token_names_its_account_and_expires() -> None:
    issuer = TokenIssuer(SECRET, expire_minutes=5)
    key_principal = Principal(
        kind=AccountKind.SERVICE_ACCOUNT, id="sa", name="ci", role="viewer", api_key_id="k1"
    )
    issued = issuer.issue(key_principal)
    assert (issued.token_type, issued.expires_in) == ("bearer", 300)
    claims = issuer.verify(issued.access_token)
    assert (claims.kind, claims.account_id, claims.api_key_id) == (
        AccountKind.SERVICE_ACCOUNT,
        "sa",
        "k1",
    )
    assert claims.expires_at - time.time() == pytest.approx(300, abs=5)
    assert issuer.issue(key_principal).access_token != issued.access_token  # unique ids


def test_expired_forged_and_malformed_tokens_are_refused() -> None:
    issuer = TokenIssuer(SECRET, expire_minutes=5)
    now = int(time.time())
    expired = jwt.encode(
        {"iss": "headrace", "sub": "x", "kind": "user", "iat": now - 100, "exp": now - 10},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(AuthenticationError, match="has expired"):
        issuer.verify(expired)
    forged = TokenIssuer("f" * 40).issue(_principal()).access_token
    unsigned = jwt.encode({"sub": "x", "kind": "user"}, key=None, algorithm="none")
    wrong_kind = jwt.encode(
        {"iss": "headrace", "sub": "x", "kind": "robot", "iat": now, "exp": now + 60},
        SECRET,
        algorithm="HS256",
    )
    for token in (forged, unsigned, wrong_kind, "not.a.token", ""):
        with pytest.raises(AuthenticationError, match="not valid"):
            issuer.verify(token)


def test_the_signing_secret_is_made_once_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_or_create_secret(tmp_path / "data")
    path = tmp_path / "data" / "jwt.secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(tmp_path / "data") == first and len(first) >= 32
    monkeypatch.setenv("HEADRACE_SERVER_JWT_SECRET", "x" * 32)
    assert load_or_create_secret(tmp_path / "data") == "x" * 32
    monkeypatch.setenv("HEADRACE_SERVER_JWT_SECRET", "short")
    with pytest.raises(ConfigurationError, match="HEADRACE_SERVER_JWT_SECRET has 5 characters"):
        load_or_create_secret(tmp_path / "data")


def test_token_expiry_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_SERVER_JWT_TOKEN_EXPIRE_MINUTES", "2")
    assert TokenIssuer(SECRET).expire_seconds == 120
    monkeypatch.setenv("HEADRACE_SERVER_JWT_TOKEN_EXPIRE_MINUTES", "soon")
    with pytest.raises(ConfigurationError, match="HEADRACE_SERVER_JWT_TOKEN_EXPIRE_MINUTES"):
        TokenIssuer(SECRET)


# -- limiter (counts in a real SQLite store; the clock is the test's) ---------------------
class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_for_one_user_lock_that_user_for_the_window(accounts_store: SqlStore) -> None:
    clock = _Clock()
    limiter = LoginLimiter(
        accounts_store,
        max_user_failures=3,
        max_address_failures=100,
        window_seconds=60,
        clock=clock,
    )
    for _ in range(3):
        limiter.check("alice", "10.0.0.1")
        limiter.failed("alice", "10.0.0.1")
        clock.now += 1
    with pytest.raises(TooManyAttemptsError, match="for this user") as locked:
        limiter.check("alice", "10.0.0.2")  # another address does not help
    assert locked.value.retry_after == pytest.approx(57)
    limiter.check("bob", "10.0.0.1")  # other users are not affected
    clock.now += 57
    limiter.check("alice", "10.0.0.1")  # the window has ended


def test_failures_from_one_address_lock_that_address(accounts_store: SqlStore) -> None:
    clock = _Clock()
    limiter = LoginLimiter(
        accounts_store,
        max_user_failures=3,
        max_address_failures=4,
        window_seconds=60,
        clock=clock,
    )
    for name in ("a", "b", "c", "d"):
        limiter.failed(name, "10.0.0.9")
    with pytest.raises(TooManyAttemptsError, match="for this address"):
        limiter.check("e", "10.0.0.9")
    limiter.check("e", "10.0.0.10")


def test_a_success_clears_the_user_failures(accounts_store: SqlStore) -> None:
    limiter = LoginLimiter(
        accounts_store, max_user_failures=2, max_address_failures=100, clock=_Clock()
    )
    limiter.failed("alice", None)
    limiter.succeeded("alice")
    limiter.failed("alice", None)
    limiter.check("alice", None)


def test_attempts_count_before_the_check_and_refusals_are_taken_back(
    accounts_store: SqlStore,
) -> None:
    clock = _Clock()
    limiter = LoginLimiter(
        accounts_store,
        max_user_failures=2,
        max_address_failures=3,
        window_seconds=60,
        clock=clock,
    )
    limiter.attempt("alice", "10.0.0.1")
    limiter.attempt("alice", "10.0.0.1")  # two failures: the user's limit
    with pytest.raises(TooManyAttemptsError, match="for this user") as locked:
        limiter.attempt("alice", "10.0.0.1")
    assert locked.value.retry_after == pytest.approx(60)
    # The refused attempt was taken back from the address too: one more user fits.
    limiter.attempt("bob", "10.0.0.1")
    limiter.succeeded("bob", "10.0.0.1")  # bob's success is not the address's failure
    limiter.attempt("carol", "10.0.0.1")
    with pytest.raises(TooManyAttemptsError, match="for this address"):
        limiter.attempt("dave", "10.0.0.1")
    clock.now += 60
    limiter.attempt("alice", "10.0.0.1")  # a new window


def test_ended_windows_are_pruned_once_per_window(accounts_store: SqlStore) -> None:
    clock = _Clock()
    limiter = LoginLimiter(accounts_store, window_seconds=10, clock=clock)
    for index in range(20):
        limiter.failed(f"user-{index}", "10.0.0.1")
    with accounts_store._sql.read() as conn:
        assert conn.scalar("SELECT COUNT(*) AS n FROM login_attempts") == 21
    clock.now += 11  # every window has ended: the next count prunes them
    limiter.failed("late", None)
    with accounts_store._sql.read() as conn:
        rows = conn.execute("SELECT subject FROM login_attempts")
    assert len(rows) == 1 and rows[0].subject.startswith("u:")
    assert "late" not in rows[0].subject  # names are stored hashed


def test_limits_come_from_the_environment(
    accounts_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_SERVER_LOGIN_MAX_FAILURES", "2")
    monkeypatch.setenv("HEADRACE_SERVER_LOGIN_MAX_ADDRESS_FAILURES", "7")
    monkeypatch.setenv("HEADRACE_SERVER_LOGIN_LOCKOUT_SECONDS", "30")
    limiter = LoginLimiter.from_environment(accounts_store)
    assert (limiter.max_user_failures, limiter.max_address_failures) == (2, 7)
    assert limiter.window_seconds == 30


# -- permissions --------------------------------------------------------------------------
def test_roles_nest_viewer_editor_admin() -> None:
    viewer = _principal(AccountRole.VIEWER)
    editor = _principal(AccountRole.EDITOR)
    admin = _principal(AccountRole.ADMIN)
    assert [has_permission(viewer, p) for p in Permission] == [True, False, False, False]
    assert [has_permission(editor, p) for p in Permission] == [True, True, True, False]
    assert all(has_permission(admin, p) for p in Permission)
    with pytest.raises(PermissionDeniedError, match="User 'alice' .viewer. may not create"):
        require(viewer, Permission.WRITE)
    with pytest.raises(PermissionDeniedError, match="needs the admin role"):
        require(editor, Permission.MANAGE_ACCOUNTS)
    require(admin, Permission.MANAGE_ACCOUNTS)


def _snapshot(users: list[str], roles: list[str]) -> SnapshotResponse:
    return SnapshotResponse.model_validate(
        {
            "id": "s1",
            "created": "2026-01-01T00:00:00Z",
            "name": "train",
            "pipeline_id": "p",
            "stack_id": "st",
            "spec": {"name": "p", "source": "m.p", "code_hash": "h"},
            "spec_hash": "h",
            "allowed_users": users,
            "allowed_roles": roles,
        }
    )


def test_who_may_run_a_snapshot() -> None:
    alice, bob = _principal(name="alice"), _principal(name="bob")
    admin, viewer = _principal(AccountRole.ADMIN, "root"), _principal(AccountRole.VIEWER, "v")
    open_snapshot = _snapshot([], [])
    assert may_run_snapshot(alice, open_snapshot) and not may_run_snapshot(viewer, open_snapshot)
    only_alice = _snapshot(["alice", "v"], [])
    assert may_run_snapshot(alice, only_alice) and may_run_snapshot(admin, only_alice)
    assert not may_run_snapshot(bob, only_alice)
    assert not may_run_snapshot(viewer, only_alice)  # named, but viewers never run
    with pytest.raises(PermissionDeniedError, match="only by user 'alice', user 'v'"):
        require_run_snapshot(bob, only_alice)
    editors = _snapshot([], ["editor"])
    assert may_run_snapshot(bob, editors)
    admins_only = _snapshot([], ["admin"])
    with pytest.raises(PermissionDeniedError, match="may not run snapshot 'train'"):
        require_run_snapshot(bob, admins_only)


# -- login and first admin over a real store ----------------------------------------------
@pytest.fixture
def accounts_store(tmp_path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{tmp_path / 's.db'}", default_artifact_path=str(tmp_path))
    yield store  # type: ignore[misc]
    store.close()


def test_the_first_admin_gets_a_one_time_or_the_given_password(
    accounts_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = ensure_first_admin(accounts_store)
    assert generated is not None and len(generated) >= 20
    assert accounts_store.authenticate_user("admin", generated).role == AccountRole.ADMIN
    assert ensure_first_admin(accounts_store) is None  # once only

    other = SqlStore(f"sqlite:///{tmp_path / 'o.db'}")
    try:
        monkeypatch.setenv("HEADRACE_DEFAULT_PASSWORD", "short")
        with pytest.raises(ConfigurationError, match="HEADRACE_DEFAULT_PASSWORD is not usable"):
            ensure_first_admin(other)
        monkeypatch.setenv("HEADRACE_DEFAULT_PASSWORD", PASSWORD)
        assert ensure_first_admin(other) is None
        assert other.authenticate_user("admin", PASSWORD).name == "admin"
    finally:
        other.close()


def test_login_with_password_or_api_key_and_tokens_follow_the_store(
    accounts_store: SqlStore,
) -> None:
    auth = Authenticator(
        accounts_store, TokenIssuer(SECRET), LoginLimiter(accounts_store, clock=_Clock())
    )
    accounts_store.create_user(UserRequest(name="alice", role="editor", password=PASSWORD))
    token = auth.login("alice", PASSWORD, "127.0.0.1").access_token
    assert auth.principal(token).name == "alice"
    accounts_store.create_service_account(ServiceAccountRequest(name="ci", role="viewer"))
    key = accounts_store.create_api_key("ci", APIKeyRequest(name="k")).key
    assert key is not None
    key_token = auth.login(None, key, "127.0.0.1").access_token  # no user name needed
    assert auth.principal(key_token).api_key_id is not None

    accounts_store.update_user("alice", UserUpdate(role=AccountRole.VIEWER))
    assert auth.principal(token).role == AccountRole.VIEWER  # role read per request
    accounts_store.update_user("alice", UserUpdate(active=False))
    with pytest.raises(AuthenticationError, match="deactivated"):
        auth.principal(token)
    accounts_store.revoke_api_key("ci", "k")
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.principal(key_token)
    with pytest.raises(AuthenticationError, match="user name and password"):
        auth.login("", "whatever-password", "127.0.0.1")


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(
    accounts_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    limiter = LoginLimiter(
        accounts_store,
        max_user_failures=3,
        max_address_failures=10,
        window_seconds=60,
        clock=clock,
    )
    auth = Authenticator(accounts_store, TokenIssuer(SECRET), limiter)
    accounts_store.create_user(UserRequest(name="alice", password=PASSWORD))
    for attempt in range(3):
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            auth.login("alice", f"guess number {attempt}", "10.1.1.1")
    checked: list[str] = []
    real_check = credentials.verify_password

    def recording_check(password_hash: str, password: str) -> bool:
        checked.append(password)
        return real_check(password_hash, password)

    monkeypatch.setattr(credentials, "verify_password", recording_check)
    with pytest.raises(TooManyAttemptsError):
        auth.login("alice", PASSWORD, "10.1.1.1")
    assert checked == []  # refused before the slow password check ran
    clock.now += 61
    assert auth.login("alice", PASSWORD, "10.1.1.1").access_token


def test_a_checked_token_is_remembered_only_until_it_expires() -> None:
    issuer = TokenIssuer(SECRET, expire_minutes=1.5 / 60)  # 1 s (seconds are whole)
    token = issuer.issue(_principal()).access_token
    first = issuer.verify(token)
    assert issuer.verify(token) is first  # no second signature check
    time.sleep(1.6)
    with pytest.raises(AuthenticationError, match="has expired"):
        issuer.verify(token)
