"""Accounts in the store: users, service accounts, API keys and who may run a snapshot
through the Store verbs (SQLite, PostgreSQL, and a RestStore against a real server, as
its admin), and the credential checks of the SQL store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from headrace.config.spec import PipelineSpec
from headrace.enums import AccountKind, AccountRole
from headrace.exceptions import (
    AuthenticationError,
    EntityExistsError,
    EntityNotFoundError,
    StoreConflictError,
)
from headrace.models import (
    APIKeyFilter,
    APIKeyRequest,
    ServiceAccountFilter,
    ServiceAccountRequest,
    ServiceAccountUpdate,
    SnapshotRequest,
    SnapshotUpdate,
    UserFilter,
    UserRequest,
    UserUpdate,
)
from headrace.store.base import CredentialStore, Store
from headrace.store.sql.store import SqlStore

PASSWORD = "correct horse battery"


def _user(store: Store, name: str, role: AccountRole = AccountRole.VIEWER) -> str:
    return store.create_user(UserRequest(name=name, role=role, password=PASSWORD)).id


def _credentials(store: Store) -> CredentialStore:
    assert isinstance(store, CredentialStore)
    return store


def _names(page: object) -> list[str]:
    """Names in a page, without the server's own first admin (REST backend)."""
    return [item.name for item in page if item.name != "admin"]  # type: ignore[attr-defined]


def test_users_are_created_listed_and_updated(contract_store: Store) -> None:
    store = contract_store
    user = store.create_user(UserRequest(name="alice", role="editor", password=PASSWORD))
    assert (user.name, user.role, user.active) == ("alice", AccountRole.EDITOR, True)
    assert "password" not in user.model_dump_json() and "argon2" not in user.model_dump_json()
    _user(store, "bob")
    assert store.get_user("alice").id == user.id
    assert store.get_user(user.id[:8]).name == "alice"
    assert _names(store.list_users(UserFilter(sort_by="asc:name"))) == ["alice", "bob"]
    assert _names(store.list_users(UserFilter(role="viewer"))) == ["bob"]
    assert _names(store.list_users(UserFilter(name="in:bob,carol"))) == ["bob"]
    changed = store.update_user("bob", UserUpdate(role=AccountRole.ADMIN, active=False))
    assert (changed.role, changed.active) == (AccountRole.ADMIN, False)
    assert changed.updated >= user.updated
    assert _names(store.list_users(UserFilter(active=True))) == ["alice"]


def test_user_names_are_unique_and_lookups_name_what_is_missing(contract_store: Store) -> None:
    _user(contract_store, "alice")
    with pytest.raises(EntityExistsError, match="user named 'alice' already exists"):
        _user(contract_store, "alice")
    with pytest.raises(EntityNotFoundError, match="No user has the name or id 'carol'"):
        contract_store.get_user("carol")
    with pytest.raises(EntityNotFoundError, match="carol"):
        contract_store.update_user("carol", UserUpdate(active=False))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "../etc", "password": PASSWORD}, "not a valid name"),
        ({"name": "x" * 65, "password": PASSWORD}, "not a valid name"),
        ({"name": "ok", "password": "short"}, "at least 8 characters"),
        ({"name": "ok", "password": PASSWORD, "role": "owner"}, "'admin', 'editor' or 'viewer'"),
        ({"name": "ok", "password": PASSWORD, "is_admin": True}, "Extra inputs"),
    ],
)
def test_bad_user_requests_are_refused_naming_the_field(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        UserRequest.model_validate(fields)


def test_passwords_are_checked_and_a_wrong_name_reads_like_a_wrong_password(
    sql_store: Store,
) -> None:
    store = _credentials(sql_store)
    user_id = _user(sql_store, "alice", AccountRole.EDITOR)
    principal = store.authenticate_user("alice", PASSWORD)
    assert (principal.kind, principal.id, principal.role) == (
        AccountKind.USER,
        user_id,
        AccountRole.EDITOR,
    )
    with pytest.raises(AuthenticationError) as wrong_password:
        store.authenticate_user("alice", PASSWORD + "!")
    with pytest.raises(AuthenticationError) as wrong_name:
        store.authenticate_user("mallory", PASSWORD)
    assert str(wrong_password.value) == str(wrong_name.value) == "Wrong user name or password."
    sql_store.update_user("alice", UserUpdate(password="a new passphrase"))
    with pytest.raises(AuthenticationError):
        store.authenticate_user("alice", PASSWORD)
    assert store.authenticate_user("alice", "a new passphrase").id == user_id


def test_a_deactivated_user_can_neither_log_in_nor_use_a_token(sql_store: Store) -> None:
    store = _credentials(sql_store)
    user_id = _user(sql_store, "alice")
    assert store.get_principal(AccountKind.USER, user_id).name == "alice"
    sql_store.update_user("alice", UserUpdate(active=False))
    with pytest.raises(AuthenticationError, match="'alice' is deactivated"):
        store.authenticate_user("alice", PASSWORD)
    with pytest.raises(AuthenticationError, match="'alice' is deactivated"):
        store.get_principal(AccountKind.USER, user_id)
    with pytest.raises(AuthenticationError, match="no longer exists"):
        store.get_principal(AccountKind.USER, str(uuid.uuid4()))


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(sql_store: Store) -> None:
    _user(sql_store, "root", AccountRole.ADMIN)
    with pytest.raises(StoreConflictError, match="last active admin"):
        sql_store.update_user("root", UserUpdate(active=False))
    with pytest.raises(StoreConflictError, match="last active admin"):
        sql_store.update_user("root", UserUpdate(role=AccountRole.EDITOR))
    _user(sql_store, "second", AccountRole.ADMIN)
    assert not sql_store.update_user("root", UserUpdate(active=False)).active
    with pytest.raises(StoreConflictError, match="'second' is the last active admin"):
        sql_store.update_user("second", UserUpdate(role=AccountRole.VIEWER))


def test_service_accounts_are_created_listed_and_updated(contract_store: Store) -> None:
    sql_store = contract_store
    account = sql_store.create_service_account(
        ServiceAccountRequest(name="ci", role=AccountRole.EDITOR, description="CI runner")
    )
    assert (account.name, account.role, account.description) == ("ci", "editor", "CI runner")
    with pytest.raises(EntityExistsError, match="service account named 'ci'"):
        sql_store.create_service_account(ServiceAccountRequest(name="ci"))
    sql_store.create_service_account(ServiceAccountRequest(name="reporting"))
    page = sql_store.list_service_accounts(ServiceAccountFilter(role=AccountRole.VIEWER))
    assert [a.name for a in page] == ["reporting"]
    changed = sql_store.update_service_account("ci", ServiceAccountUpdate(active=False))
    assert not changed.active and changed.description == "CI runner"


def test_api_keys_are_shown_once_and_found_by_name(contract_store: Store) -> None:
    store = contract_store
    account = store.create_service_account(ServiceAccountRequest(name="ci", role="editor"))
    created = store.create_api_key("ci", APIKeyRequest(name="deploy", description="CD"))
    assert created.key is not None and created.key.startswith("hrk_")
    assert created.key not in repr(created)
    fetched = store.get_api_key("ci", "deploy")
    assert (fetched.id, fetched.key, fetched.description) == (created.id, None, "CD")
    assert store.get_api_key(account.id, created.id[:6]).name == "deploy"
    with pytest.raises(EntityExistsError, match="already has an API key named 'deploy'"):
        store.create_api_key("ci", APIKeyRequest(name="deploy"))
    with pytest.raises(EntityNotFoundError, match="'ci' has no API key .* 'other'"):
        store.get_api_key("ci", "other")
    assert store.revoke_api_key("ci", "deploy").revoked
    store.create_api_key("ci", APIKeyRequest(name="second"))
    page = store.list_api_keys("ci", APIKeyFilter(sort_by="asc:name"))
    assert [(k.name, k.revoked, k.key) for k in page] == [
        ("deploy", True, None),
        ("second", False, None),
    ]
    assert [k.name for k in store.list_api_keys("ci", APIKeyFilter(include_revoked=False))] == [
        "second"
    ]


def test_api_keys_are_stored_hashed_and_log_in(sql_store: Store) -> None:
    store = _credentials(sql_store)
    account = sql_store.create_service_account(ServiceAccountRequest(name="ci", role="editor"))
    created = sql_store.create_api_key("ci", APIKeyRequest(name="deploy"))
    assert created.key is not None
    secret = created.key[len("hrk_") + 32 + 1 :]  # after the clear key id
    assert isinstance(sql_store, SqlStore)
    with sql_store._db.read() as conn:
        stored = conn.one("SELECT key_hash FROM api_keys WHERE id = :id", {"id": created.id})
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.key_hash
    principal = store.authenticate_api_key(created.key)
    assert (principal.kind, principal.name, principal.role, principal.api_key_id) == (
        AccountKind.SERVICE_ACCOUNT,
        "ci",
        AccountRole.EDITOR,
        created.id,
    )
    used = sql_store.get_api_key("ci", "deploy").last_used
    assert used is not None
    store.authenticate_api_key(created.key)  # within a minute: no write per request
    assert sql_store.get_api_key("ci", "deploy").last_used == used
    assert store.get_principal(AccountKind.SERVICE_ACCOUNT, account.id, created.id).name == "ci"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # wrong secret
        lambda key: "hrk_" + uuid.uuid4().hex + key[36:],  # unknown id
        lambda key: key[4:],  # not a key at all
        lambda key: "",
    ],
)
def test_wrong_api_keys_are_refused_alike(sql_store: Store, mangle) -> None:  # type: ignore[no-untyped-def]
    sql_store.create_service_account(ServiceAccountRequest(name="ci"))
    key = sql_store.create_api_key("ci", APIKeyRequest(name="k")).key
    assert key is not None
    with pytest.raises(AuthenticationError, match="^The API key is not valid.$"):
        _credentials(sql_store).authenticate_api_key(mangle(key))


def test_revoked_expired_and_deactivated_keys_stop_at_once(sql_store: Store) -> None:
    store = _credentials(sql_store)
    account = sql_store.create_service_account(ServiceAccountRequest(name="ci"))
    revoked = sql_store.create_api_key("ci", APIKeyRequest(name="old"))
    assert revoked.key is not None
    store.authenticate_api_key(revoked.key)
    assert sql_store.revoke_api_key("ci", "old").revoked
    with pytest.raises(AuthenticationError, match="'old' of 'ci' was revoked"):
        store.authenticate_api_key(revoked.key)
    with pytest.raises(AuthenticationError, match="was revoked"):
        store.get_principal(AccountKind.SERVICE_ACCOUNT, account.id, revoked.id)

    past = datetime.now(UTC) - timedelta(seconds=1)
    expired = sql_store.create_api_key("ci", APIKeyRequest(name="short", expires=past))
    assert expired.key is not None and expired.expired and not expired.usable
    with pytest.raises(AuthenticationError, match="'short' of 'ci' expired at"):
        store.authenticate_api_key(expired.key)

    live = sql_store.create_api_key(
        "ci", APIKeyRequest(name="live", expires=datetime.now(UTC) + timedelta(days=1))
    )
    assert live.key is not None and live.usable
    store.authenticate_api_key(live.key)
    sql_store.update_service_account("ci", ServiceAccountUpdate(active=False))
    with pytest.raises(AuthenticationError, match="Service account 'ci' is deactivated"):
        store.get_principal(AccountKind.SERVICE_ACCOUNT, account.id, live.id)
    with pytest.raises(AuthenticationError, match="no longer exists"):
        store.get_principal(AccountKind.SERVICE_ACCOUNT, account.id)

    names = [k.name for k in sql_store.list_api_keys("ci", APIKeyFilter(sort_by="asc:name"))]
    assert names == ["live", "old", "short"]
    unrevoked = sql_store.list_api_keys("ci", APIKeyFilter(include_revoked=False))
    assert sorted(k.name for k in unrevoked) == ["live", "short"]


def _snapshot(store: Store, name: str, **fields: object) -> SnapshotRequest:
    pipeline = store.get_or_create_pipeline("p")
    spec = PipelineSpec(name="p", source="m.p", code_hash="h")
    return SnapshotRequest(
        id=str(uuid.uuid4()),
        name=name,
        pipeline_id=pipeline.id,
        stack_id=store.get_default_stack().id,
        spec=spec,
        spec_hash=uuid.uuid4().hex,
        runnable=True,
        **fields,  # type: ignore[arg-type]
    )


def test_snapshot_access_is_set_checked_and_kept_on_replace(contract_store: Store) -> None:
    sql_store = contract_store
    snapshot = sql_store.create_snapshot(_snapshot(sql_store, "train"))
    assert (snapshot.allowed_users, snapshot.allowed_roles, snapshot.restricted) == ([], [], False)
    _user(sql_store, "alice")
    sql_store.create_service_account(ServiceAccountRequest(name="ci"))
    with pytest.raises(EntityNotFoundError, match="'alcie'"):
        sql_store.update_snapshot("train", SnapshotUpdate(allowed_users=["alcie"]))
    limited = sql_store.update_snapshot(
        "train", SnapshotUpdate(allowed_users=["ci", "alice", "ci"], allowed_roles=["admin"])
    )
    assert (limited.allowed_users, limited.allowed_roles) == (["alice", "ci"], ["admin"])
    only_roles = sql_store.update_snapshot("train", SnapshotUpdate(allowed_users=[]))
    assert (only_roles.allowed_users, only_roles.allowed_roles) == ([], ["admin"])

    replaced = sql_store.create_snapshot(_snapshot(sql_store, "train"), replace=True)
    assert replaced.id != snapshot.id and replaced.allowed_roles == ["admin"]
    own_rule = sql_store.create_snapshot(
        _snapshot(sql_store, "train", allowed_users=["alice"]), replace=True
    )
    assert (own_rule.allowed_users, own_rule.allowed_roles) == (["alice"], [])
