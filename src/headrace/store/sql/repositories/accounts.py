"""Accounts: users, service accounts and their API keys, and the credential checks a
server makes at login and on every request.

Secrets never reach a response: users come back without their password hash, API keys
without theirs; a new API key's own text is returned once, by ``APIKeyRepository.create``.
"""

from __future__ import annotations

from datetime import timedelta
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
    ServiceAccountFilter,
    ServiceAccountRequest,
    ServiceAccountResponse,
    ServiceAccountUpdate,
    UserFilter,
    UserRequest,
    UserResponse,
    UserUpdate,
)
from headrace.store import credentials
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, select_all, update_sql
from headrace.store.sql.repositories.base import Repository, SqlContext, new_id, now

# Said for an unknown name and for a wrong password alike, so that a login attempt
# cannot tell which user names exist.
BAD_LOGIN = "Wrong user name or password."
BAD_API_KEY = "The API key is not valid."
GONE_ACCOUNT = "The account this token was issued to no longer exists; log in again."

_KEY_SELECT = (
    "SELECT api_keys.*, service_accounts.name AS service_account_name, "
    "service_accounts.role, service_accounts.active FROM api_keys "
    "JOIN service_accounts ON service_accounts.id = api_keys.service_account_id"
)
_KEY_BY_ID = f"{_KEY_SELECT} WHERE api_keys.id = :id"
_KEY_OF_ACCOUNT = f"{_KEY_BY_ID} AND api_keys.service_account_id = :sa"
_USER_BY_ID = "SELECT id, name, role, active FROM users WHERE id = :id"
_USER_BY_NAME = "SELECT * FROM users WHERE name = :name"
# A key presented on every request (X-API-Key) would otherwise cost a write per request;
# "last used" to the minute is what an admin needs to see.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def insert_named(sql: SqlContext, table: str, values: dict[str, Any], kind: str) -> None:
    """Insert a row whose name must be unique, naming the taken name if it is.

    Raises:
        EntityExistsError: the name is taken.
    """
    try:
        with sql.write() as conn:
            conn.run(insert_sql(table, tuple(values)), values)
    except StoreConflictError as exc:
        if not exc.unique:
            raise
        raise EntityExistsError(
            f"A {kind} named {values['name']!r} already exists; choose another name."
        ) from exc


class UserRepository(Repository):
    """The ``users`` table: people who log in with a password."""

    table = "users"
    kind = "user"
    fields = {"role": "users.role", "active": "users.active"}

    def to_model(self, row: Record) -> UserResponse:
        """The response of one row (no password hash)."""
        return UserResponse(
            id=row.id,
            created=row.created,
            updated=row.updated,
            name=row.name,
            role=AccountRole(row.role),
            active=row.active,
        ).attach(self.context)

    def create(self, request: UserRequest) -> UserResponse:
        """Store a new user with an argon2 hash of the password."""
        at, user_id = now(), new_id()
        values: dict[str, Any] = {
            "id": user_id,
            "name": request.name,
            "role": request.role.value,
            "active": request.active,
            "password_hash": credentials.hash_password(request.password.get_secret_value()),
            "created": at,
            "updated": at,
        }
        insert_named(self.sql, self.table, values, self.kind)
        return self.get(user_id)

    def get(self, name_or_id: str) -> UserResponse:
        """A user by name, id or unique id prefix."""
        with self.sql.read() as conn:
            return self.to_model(self.find(conn, name_or_id))

    def list(self, filter_model: UserFilter) -> Page[UserResponse]:
        """Users matching the filter."""
        with self.sql.read() as conn:
            return self.page(
                conn, Query(select_all(self.table), self.table), filter_model, self.to_model
            )

    def update(self, name_or_id: str, update: UserUpdate) -> UserResponse:
        """Change role, password or active flag, keeping at least one active admin."""
        values: dict[str, Any] = {}
        if update.role is not None:
            values["role"] = update.role.value
        if update.active is not None:
            values["active"] = update.active
        if update.password is not None:
            values["password_hash"] = credentials.hash_password(update.password.get_secret_value())
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            if values:
                _keep_an_admin(conn, row, values)
                values["updated"] = now()
                conn.run(update_sql(self.table, tuple(values)), {**values, "_id": row.id})
        return self.get(row.id)

    def authenticate(self, name: str, password: str) -> Principal:
        """The principal of an active user whose password matches (see ``CredentialStore``)."""
        with self.sql.read() as conn:
            row = conn.first(_USER_BY_NAME, {"name": name})
        if row is None:
            credentials.waste_password_check(password)
            raise AuthenticationError(BAD_LOGIN)
        if not credentials.verify_password(row.password_hash, password):
            raise AuthenticationError(BAD_LOGIN)
        if not row.active:
            raise AuthenticationError(f"User {row.name!r} is deactivated; ask an admin.")
        if credentials.needs_rehash(row.password_hash):
            with self.sql.write() as conn:
                conn.run(
                    update_sql(self.table, ("password_hash",)),
                    {"password_hash": credentials.hash_password(password), "_id": row.id},
                )
        return _user_principal(row)

    def principal(self, user_id: str) -> Principal:
        """The principal of an active user by id (the per-request check)."""
        with self.sql.read() as conn:
            row = conn.first(_USER_BY_ID, {"id": user_id})
        if row is None:
            raise AuthenticationError(GONE_ACCOUNT)
        if not row.active:
            raise AuthenticationError(f"User {row.name!r} is deactivated; ask an admin.")
        return _user_principal(row)


def _user_principal(row: Record) -> Principal:
    return Principal(kind=AccountKind.USER, id=row.id, name=row.name, role=AccountRole(row.role))


def _keep_an_admin(conn: Connection, row: Record, values: dict[str, Any]) -> None:
    """Refuse to demote or deactivate the last active admin: nobody could manage
    accounts any more.

    Raises:
        StoreConflictError: naming the user.
    """
    was_admin = row.active and row.role == AccountRole.ADMIN.value
    stays_admin = values.get("role", row.role) == AccountRole.ADMIN.value and values.get(
        "active", row.active
    )
    if stays_admin or not was_admin:
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


class ServiceAccountRepository(Repository):
    """The ``service_accounts`` table: identities for programs."""

    table = "service_accounts"
    kind = "service account"
    fields = {"role": "service_accounts.role", "active": "service_accounts.active"}

    def to_model(self, row: Record) -> ServiceAccountResponse:
        """The response of one row."""
        return ServiceAccountResponse(
            id=row.id,
            created=row.created,
            updated=row.updated,
            name=row.name,
            role=AccountRole(row.role),
            description=row.description,
            active=row.active,
        ).attach(self.context)

    def create(self, request: ServiceAccountRequest) -> ServiceAccountResponse:
        """Store a new service account."""
        at, account_id = now(), new_id()
        values: dict[str, Any] = {
            "id": account_id,
            "name": request.name,
            "role": request.role.value,
            "active": request.active,
            "description": request.description,
            "created": at,
            "updated": at,
        }
        insert_named(self.sql, self.table, values, self.kind)
        return self.get(account_id)

    def get(self, name_or_id: str) -> ServiceAccountResponse:
        """A service account by name, id or unique id prefix."""
        with self.sql.read() as conn:
            return self.to_model(self.find(conn, name_or_id))

    def list(self, filter_model: ServiceAccountFilter) -> Page[ServiceAccountResponse]:
        """Service accounts matching the filter."""
        query = Query(select_all(self.table), self.table)
        with self.sql.read() as conn:
            return self.page(conn, query, filter_model, self.to_model)

    def update(self, name_or_id: str, update: ServiceAccountUpdate) -> ServiceAccountResponse:
        """Change role, description or active flag."""
        values = update.model_dump(exclude_none=True, mode="json")
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            if values:
                values["updated"] = now()
                conn.run(update_sql(self.table, tuple(values)), {**values, "_id": row.id})
        return self.get(row.id)


class APIKeyRepository(Repository):
    """The ``api_keys`` table, each key joined with its service account."""

    table = "api_keys"
    kind = "API key"

    def __init__(self, sql: SqlContext, accounts: ServiceAccountRepository) -> None:
        super().__init__(sql)
        self.accounts = accounts

    def to_model(self, row: Record, key: str | None = None) -> APIKeyResponse:
        """The response of one joined row; ``key`` only right after creation."""
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
        ).attach(self.context)

    def find_key(self, conn: Connection, account: Record, name_or_id: str) -> Record:
        """One key of ``account`` by name, id or unique id prefix."""
        key = str(name_or_id).strip()
        of_account = f"{_KEY_SELECT} WHERE api_keys.service_account_id = :sa"
        rows = conn.execute(
            f"{of_account} AND (api_keys.name = :key OR api_keys.id = :key)",
            {"sa": account.id, "key": key},
        )
        if not rows and len(key) >= 4:
            rows = conn.execute(
                f"{of_account} AND api_keys.id LIKE :prefix LIMIT 3",
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

    def create(self, service_account: str, request: APIKeyRequest) -> APIKeyResponse:
        """A new key for the account; the response holds the key, which is not stored."""
        key_id = new_id()
        key, key_hash = credentials.new_api_key(key_id)
        with self.sql.write() as conn:
            account = self.accounts.find(conn, service_account)
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
                "created": now(),
                "expires": request.expires,
                "last_used": None,
                "revoked": False,
            }
            conn.run(insert_sql(self.table, tuple(values)), values)
            row = conn.one(_KEY_BY_ID, {"id": key_id})
        return self.to_model(row, key)

    def get(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        """One key of a service account (without the key itself)."""
        with self.sql.read() as conn:
            account = self.accounts.find(conn, service_account)
            return self.to_model(self.find_key(conn, account, name_or_id))

    def list(self, service_account: str, filter_model: APIKeyFilter) -> Page[APIKeyResponse]:
        """Keys of a service account matching the filter."""
        with self.sql.read() as conn:
            account = self.accounts.find(conn, service_account)
            query = Query(_KEY_SELECT, self.table).equal("api_keys.service_account_id", account.id)
            if not filter_model.include_revoked:
                query.equal("api_keys.revoked", False)
            return self.page(conn, query, filter_model, self.to_model)

    def revoke(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        """Mark a key revoked; every check of it fails from now on."""
        with self.sql.write() as conn:
            account = self.accounts.find(conn, service_account)
            row = self.find_key(conn, account, name_or_id)
            conn.run(update_sql(self.table, ("revoked",)), {"revoked": True, "_id": row.id})
        return self.get(account.id, row.id)

    def authenticate(self, key: str) -> Principal:
        """The principal of a usable key's active account; records the key's use."""
        parsed = credentials.parse_api_key(key)
        if parsed is None:
            raise AuthenticationError(BAD_API_KEY)
        key_id, secret = parsed
        with self.sql.read() as conn:
            row = conn.first(_KEY_BY_ID, {"id": key_id})
        if row is None or not credentials.api_key_matches(secret, row.key_hash):
            raise AuthenticationError(BAD_API_KEY)
        principal = _key_principal(row)
        at = now()
        if row.last_used is None or at - row.last_used >= LAST_USED_RESOLUTION:
            with self.sql.write() as conn:
                conn.run(update_sql(self.table, ("last_used",)), {"last_used": at, "_id": row.id})
        return principal

    def principal(self, service_account_id: str, api_key_id: str | None) -> Principal:
        """The principal of a token made from a key, if the key and account still may act."""
        if api_key_id is None:
            raise AuthenticationError(GONE_ACCOUNT)
        with self.sql.read() as conn:
            row = conn.first(_KEY_OF_ACCOUNT, {"id": api_key_id, "sa": service_account_id})
        if row is None:
            raise AuthenticationError(GONE_ACCOUNT)
        return _key_principal(row)


def _key_principal(row: Record) -> Principal:
    """The principal of an API key row (joined with its service account), if usable.

    Raises:
        AuthenticationError: the key is revoked or expired, or the account deactivated.
    """
    owner = row.service_account_name
    if row.revoked:
        raise AuthenticationError(f"API key {row.name!r} of {owner!r} was revoked.")
    if row.expires is not None and row.expires <= now():
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


def existing_account_names(conn: Connection, names: list[str]) -> list[str]:
    """``names`` sorted and deduplicated, once each is known as a user or a service
    account (a typo would otherwise lock out the person it meant).

    Raises:
        EntityNotFoundError: naming every unknown name.
    """
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
