"""Accounts over SQL: users, service accounts, API keys, snapshot access rules, and the
credential checks a server makes at login and on every request.

``AccountMethods`` is a mixin of ``SqlStore`` (like ``RegistryMethods``): it relies on
the store's transaction helpers (``_write``, ``_read``), row lookup (``_find``), paging
(``_page``) and response context, declared below for the type checker.

Secrets never reach a response: users come back without their password hash, API keys
without theirs; a new API key's own text is returned once by ``create_api_key``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

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
    APIKeyResponse,
    Page,
    Principal,
    ResponseContext,
    ServiceAccountFilter,
    ServiceAccountRequest,
    ServiceAccountResponse,
    ServiceAccountUpdate,
    SnapshotResponse,
    SnapshotUpdate,
    UserFilter,
    UserRequest,
    UserResponse,
    UserUpdate,
)
from headrace.store import credentials
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, select_all, update_sql

# Said for an unknown name and for a wrong password alike, so that a login attempt
# cannot tell which user names exist.
BAD_LOGIN = "Wrong user name or password."
BAD_API_KEY = "The API key is not valid."
GONE_ACCOUNT = "The account this token was issued to no longer exists; log in again."

_API_KEY_SELECT = (
    "SELECT api_keys.*, service_accounts.name AS service_account_name, "
    "service_accounts.role, service_accounts.active FROM api_keys "
    "JOIN service_accounts ON service_accounts.id = api_keys.service_account_id"
)
_USER_PRINCIPAL = "SELECT id, name, role, active FROM users WHERE id = :id"
_KEY_PRINCIPAL = f"{_API_KEY_SELECT} WHERE api_keys.id = :key AND api_keys.service_account_id = :sa"


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class AccountMethods:
    """Users, service accounts and API keys over SQL."""

    # Provided by SqlStore.
    _context: ResponseContext
    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]
    _find: Callable[..., Record]
    _page: Callable[..., Page[Any]]
    get_snapshot: Callable[[str], SnapshotResponse]

    # -- users --------------------------------------------------------------------------
    def _user_model(self, row: Record) -> UserResponse:
        return UserResponse(
            id=row.id,
            created=row.created,
            updated=row.updated,
            name=row.name,
            role=AccountRole(row.role),
            active=row.active,
        ).attach(self._context)

    def create_user(self, request: UserRequest) -> UserResponse:
        now = _now()
        values = {
            "id": _new_id(),
            "name": request.name,
            "role": request.role.value,
            "active": request.active,
            "password_hash": credentials.hash_password(request.password.get_secret_value()),
            "created": now,
            "updated": now,
        }
        self._insert_named("users", values, "user")
        return self.get_user(values["id"])

    def _insert_named(self, table: str, values: dict[str, Any], kind: str) -> None:
        """Insert a row whose name must be unique, naming the taken name if it is."""
        try:
            with self._write() as conn:
                conn.run(insert_sql(table, tuple(values)), values)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A {kind} named {values['name']!r} already exists; choose another name."
            ) from exc

    def get_user(self, name_or_id: str) -> UserResponse:
        with self._read() as conn:
            return self._user_model(self._find(conn, "users", name_or_id, "user"))

    def list_users(self, filter_model: UserFilter) -> Page[UserResponse]:
        return self._list_accounts("users", filter_model, self._user_model)

    def _list_accounts(
        self,
        table: str,
        filter_model: UserFilter | ServiceAccountFilter,
        to_model: Callable[[Record], Any],
    ) -> Page[Any]:
        query = Query(select_all(table), table)
        if filter_model.role is not None:
            query.equal(f"{table}.role", filter_model.role.value)
        if filter_model.active is not None:
            query.equal(f"{table}.active", filter_model.active)
        with self._read() as conn:
            return self._page(conn, query, filter_model, to_model)

    def update_user(self, name_or_id: str, update: UserUpdate) -> UserResponse:
        values: dict[str, Any] = {}
        if update.role is not None:
            values["role"] = update.role.value
        if update.active is not None:
            values["active"] = update.active
        if update.password is not None:
            values["password_hash"] = credentials.hash_password(update.password.get_secret_value())
        with self._write() as conn:
            row = self._find(conn, "users", name_or_id, "user")
            if values:
                self._keep_an_admin(conn, row, values)
                values["updated"] = _now()
                conn.run(update_sql("users", tuple(values)), {**values, "_id": row.id})
        return self.get_user(row.id)

    @staticmethod
    def _keep_an_admin(conn: Connection, row: Record, values: dict[str, Any]) -> None:
        """Refuse to demote or deactivate the last active admin: nobody could manage
        accounts any more."""
        stays_admin = values.get("role", row.role) == AccountRole.ADMIN.value and values.get(
            "active", row.active
        )
        if stays_admin or not (row.active and row.role == AccountRole.ADMIN.value):
            return
        others = conn.scalar(
            "SELECT count(*) FROM users WHERE role = :role AND active = :active AND id <> :id",
            {"role": AccountRole.ADMIN.value, "active": True, "id": row.id},
        )
        if not others:
            raise StoreConflictError(
                f"User {row.name!r} is the last active admin; make another user admin "
                "before demoting or deactivating this one.",
                unique=False,
            )

    # -- service accounts ---------------------------------------------------------------
    def _service_account_model(self, row: Record) -> ServiceAccountResponse:
        return ServiceAccountResponse(
            id=row.id,
            created=row.created,
            updated=row.updated,
            name=row.name,
            role=AccountRole(row.role),
            description=row.description,
            active=row.active,
        ).attach(self._context)

    def create_service_account(self, request: ServiceAccountRequest) -> ServiceAccountResponse:
        now = _now()
        values = {
            "id": _new_id(),
            "name": request.name,
            "role": request.role.value,
            "active": request.active,
            "description": request.description,
            "created": now,
            "updated": now,
        }
        self._insert_named("service_accounts", values, "service account")
        return self.get_service_account(values["id"])

    def get_service_account(self, name_or_id: str) -> ServiceAccountResponse:
        with self._read() as conn:
            row = self._find(conn, "service_accounts", name_or_id, "service account")
        return self._service_account_model(row)

    def list_service_accounts(
        self, filter_model: ServiceAccountFilter
    ) -> Page[ServiceAccountResponse]:
        return self._list_accounts("service_accounts", filter_model, self._service_account_model)

    def update_service_account(
        self, name_or_id: str, update: ServiceAccountUpdate
    ) -> ServiceAccountResponse:
        values = update.model_dump(exclude_none=True, mode="json")
        with self._write() as conn:
            row = self._find(conn, "service_accounts", name_or_id, "service account")
            if values:
                values["updated"] = _now()
                conn.run(update_sql("service_accounts", tuple(values)), {**values, "_id": row.id})
        return self.get_service_account(row.id)

    # -- API keys -----------------------------------------------------------------------
    def _api_key_model(self, row: Record, key: str | None = None) -> APIKeyResponse:
        return APIKeyResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            service_account_id=row.service_account_id,
            service_account_name=row.service_account_name,
            description=row.description,
            expires=row.expires,
            last_used=row.last_used,
            revoked=row.revoked,
            key=key,
        ).attach(self._context)

    def _find_api_key(self, conn: Connection, account: Record, name_or_id: str) -> Record:
        key = str(name_or_id).strip()
        rows = conn.execute(
            f"{_API_KEY_SELECT} WHERE api_keys.service_account_id = :sa "
            "AND (api_keys.name = :key OR api_keys.id = :key)",
            {"sa": account.id, "key": key},
        )
        if not rows and len(key) >= 4:
            rows = conn.execute(
                f"{_API_KEY_SELECT} WHERE api_keys.service_account_id = :sa "
                "AND api_keys.id LIKE :prefix LIMIT 3",
                {"sa": account.id, "prefix": f"{key}%"},
            )
            if len(rows) > 1:
                raise EntityNotFoundError(
                    f"The id prefix {key!r} matches more than one API key of service account "
                    f"{account.name!r}; give more characters."
                )
        if not rows:
            raise EntityNotFoundError(
                f"Service account {account.name!r} has no API key with the name or id {key!r}."
            )
        return rows[0]

    def create_api_key(self, service_account: str, request: APIKeyRequest) -> APIKeyResponse:
        key_id = _new_id()
        key, key_hash = credentials.new_api_key(key_id)
        with self._write() as conn:
            account = self._find(conn, "service_accounts", service_account, "service account")
            taken = conn.first(
                "SELECT id FROM api_keys WHERE service_account_id = :sa AND name = :name",
                {"sa": account.id, "name": request.name},
            )
            if taken is not None:
                raise EntityExistsError(
                    f"Service account {account.name!r} already has an API key named "
                    f"{request.name!r}; choose another name (or revoke that one)."
                )
            values = {
                "id": key_id,
                "service_account_id": account.id,
                "name": request.name,
                "description": request.description,
                "key_hash": key_hash,
                "created": _now(),
                "expires": request.expires,
                "last_used": None,
                "revoked": False,
            }
            conn.run(insert_sql("api_keys", tuple(values)), values)
            row = conn.one(f"{_API_KEY_SELECT} WHERE api_keys.id = :id", {"id": key_id})
        return self._api_key_model(row, key)

    def get_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        with self._read() as conn:
            account = self._find(conn, "service_accounts", service_account, "service account")
            return self._api_key_model(self._find_api_key(conn, account, name_or_id))

    def list_api_keys(
        self, service_account: str, filter_model: APIKeyFilter
    ) -> Page[APIKeyResponse]:
        with self._read() as conn:
            account = self._find(conn, "service_accounts", service_account, "service account")
            query = Query(_API_KEY_SELECT, "api_keys").equal(
                "api_keys.service_account_id", account.id
            )
            if not filter_model.include_revoked:
                query.equal("api_keys.revoked", False)
            return self._page(conn, query, filter_model, self._api_key_model)

    def revoke_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        with self._write() as conn:
            account = self._find(conn, "service_accounts", service_account, "service account")
            row = self._find_api_key(conn, account, name_or_id)
            conn.run(update_sql("api_keys", ("revoked",)), {"revoked": True, "_id": row.id})
        return self.get_api_key(account.id, row.id)

    # -- who may run a snapshot ---------------------------------------------------------
    def update_snapshot(self, name_or_id: str, update: SnapshotUpdate) -> SnapshotResponse:
        values: dict[str, Any] = {}
        if update.allowed_roles is not None:
            values["allowed_roles"] = sorted({role.value for role in update.allowed_roles})
        with self._write() as conn:
            row = self._find(conn, "snapshots", name_or_id, "snapshot")
            if update.allowed_users is not None:
                values["allowed_users"] = self._existing_account_names(conn, update.allowed_users)
            if values:
                conn.run(update_sql("snapshots", tuple(values)), {**values, "_id": row.id})
        return self.get_snapshot(row.id)

    @staticmethod
    def _existing_account_names(conn: Connection, names: Sequence[str]) -> list[str]:
        """``names`` sorted and deduplicated, once each is known as a user or a service
        account (a typo would otherwise lock out the person it meant)."""
        wanted = sorted(set(names))
        if not wanted:
            return []
        params = {f"n{i}": name for i, name in enumerate(wanted)}
        placeholders = ", ".join(f":{key}" for key in params)
        rows = conn.execute(
            f"SELECT name FROM users WHERE name IN ({placeholders}) "
            f"UNION SELECT name FROM service_accounts WHERE name IN ({placeholders})",
            params,
        )
        missing = sorted(set(wanted) - {row.name for row in rows})
        if missing:
            raise EntityNotFoundError(
                f"No user or service account is named {', '.join(map(repr, missing))}; "
                "create the account first, or check the spelling."
            )
        return wanted

    # -- credentials (CredentialStore) --------------------------------------------------
    def authenticate_user(self, name: str, password: str) -> Principal:
        with self._read() as conn:
            row = conn.first("SELECT * FROM users WHERE name = :name", {"name": name})
        if row is None:
            credentials.waste_password_check(password)
            raise AuthenticationError(BAD_LOGIN)
        if not credentials.verify_password(row.password_hash, password):
            raise AuthenticationError(BAD_LOGIN)
        if not row.active:
            raise AuthenticationError(f"User {row.name!r} is deactivated; ask an admin.")
        if credentials.needs_rehash(row.password_hash):
            with self._write() as conn:
                conn.run(
                    update_sql("users", ("password_hash",)),
                    {"password_hash": credentials.hash_password(password), "_id": row.id},
                )
        return Principal(
            kind=AccountKind.USER, id=row.id, name=row.name, role=AccountRole(row.role)
        )

    def authenticate_api_key(self, key: str) -> Principal:
        parsed = credentials.parse_api_key(key)
        if parsed is None:
            raise AuthenticationError(BAD_API_KEY)
        key_id, secret = parsed
        with self._read() as conn:
            row = conn.first(f"{_API_KEY_SELECT} WHERE api_keys.id = :id", {"id": key_id})
        if row is None or not credentials.api_key_matches(secret, row.key_hash):
            raise AuthenticationError(BAD_API_KEY)
        principal = _key_principal(row)
        with self._write() as conn:
            conn.run(update_sql("api_keys", ("last_used",)), {"last_used": _now(), "_id": row.id})
        return principal

    def get_principal(
        self, kind: AccountKind, account_id: str, api_key_id: str | None = None
    ) -> Principal:
        if kind == AccountKind.USER:
            with self._read() as conn:
                row = conn.first(_USER_PRINCIPAL, {"id": account_id})
            if row is None:
                raise AuthenticationError(GONE_ACCOUNT)
            if not row.active:
                raise AuthenticationError(f"User {row.name!r} is deactivated; ask an admin.")
            return Principal(
                kind=AccountKind.USER, id=row.id, name=row.name, role=AccountRole(row.role)
            )
        if api_key_id is None:
            raise AuthenticationError(GONE_ACCOUNT)
        with self._read() as conn:
            row = conn.first(_KEY_PRINCIPAL, {"key": api_key_id, "sa": account_id})
        if row is None:
            raise AuthenticationError(GONE_ACCOUNT)
        return _key_principal(row)


def _key_principal(row: Record) -> Principal:
    """The principal of an API key row (joined with its service account), if usable."""
    owner = row.service_account_name
    if row.revoked:
        raise AuthenticationError(f"API key {row.name!r} of {owner!r} was revoked.")
    if row.expires is not None and row.expires <= _now():
        raise AuthenticationError(
            f"API key {row.name!r} of {owner!r} expired at {row.expires:%Y-%m-%d %H:%M} UTC."
        )
    if not row.active:
        raise AuthenticationError(f"Service account {owner!r} is deactivated; ask an admin.")
    return Principal(
        kind=AccountKind.SERVICE_ACCOUNT,
        id=row.service_account_id,
        name=owner,
        role=AccountRole(row.role),
        api_key_id=row.id,
    )
