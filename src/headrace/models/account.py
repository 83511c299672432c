"""Accounts: users (people with a password), service accounts (CI systems and other
programs) and their API keys, and the principal a token stands for.

Passwords travel only in requests, as ``SecretStr`` so they never show in a repr or a
log line; responses carry no password and no hash. An API key's secret is shown once,
in the response of its creation, and stored only as a hash.
"""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from headrace.enums import AccountKind, AccountRole
from headrace.models.base import RequestModel, ResponseModel
from headrace.models.filters import BaseFilter

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def check_account_name(name: str) -> str:
    """An account or key name: 1-64 letters, digits and ``._@+-``, starting with a letter
    or digit, so it is safe in a URL path, a file name and a terminal."""
    if not _NAME_RE.match(name):
        raise ValueError(
            f"{name!r} is not a valid name: use 1-64 letters, digits and the characters "
            "'._@+-', starting with a letter or digit"
        )
    return name


def check_password(password: SecretStr) -> SecretStr:
    """A password long enough to resist guessing and short enough to hash quickly."""
    length = len(password.get_secret_value())
    if length < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if length > MAX_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


AccountName = Annotated[str, AfterValidator(check_account_name)]
Password = Annotated[SecretStr, AfterValidator(check_password)]


class UserRequest(RequestModel):
    """A user to create; the store keeps only an argon2 hash of the password."""

    name: AccountName
    role: AccountRole = AccountRole.VIEWER
    password: Password
    active: bool = True


class UserUpdate(RequestModel):
    """Fields of a user to change; ``None`` leaves a field as it is."""

    role: AccountRole | None = None
    password: Password | None = None
    active: bool | None = None


class UserResponse(ResponseModel):
    """A user, without password or hash."""

    name: str
    role: AccountRole
    active: bool
    updated: datetime

    def __str__(self) -> str:
        state = "active" if self.active else "deactivated"
        return f"User {self.name!r} ({self.role.value}, {state})"


class UserFilter(BaseFilter):
    """Filter users."""

    role: AccountRole | None = None
    active: bool | None = None


class ServiceAccountRequest(RequestModel):
    """A service account to create: an identity for a program, which logs in with API keys."""

    name: AccountName
    role: AccountRole = AccountRole.VIEWER
    description: str | None = Field(default=None, max_length=1000)
    active: bool = True


class ServiceAccountUpdate(RequestModel):
    """Fields of a service account to change; ``None`` leaves a field as it is."""

    role: AccountRole | None = None
    description: str | None = Field(default=None, max_length=1000)
    active: bool | None = None


class ServiceAccountResponse(ResponseModel):
    """A service account."""

    name: str
    role: AccountRole
    description: str | None = None
    active: bool
    updated: datetime


class ServiceAccountFilter(BaseFilter):
    """Filter service accounts."""

    role: AccountRole | None = None
    active: bool | None = None


class APIKeyRequest(RequestModel):
    """An API key to create for a service account; ``expires`` is optional."""

    name: AccountName
    description: str | None = Field(default=None, max_length=1000)
    expires: datetime | None = None


class APIKeyResponse(ResponseModel):
    """An API key. ``key`` is set only in the answer to its creation: it is not stored."""

    name: str
    service_account_id: str
    service_account_name: str
    description: str | None = None
    expires: datetime | None = None
    last_used: datetime | None = None
    revoked: bool = False
    key: str | None = Field(default=None, repr=False)

    @property
    def expired(self) -> bool:
        """Whether the key's expiry time has passed."""
        return self.expires is not None and self.expires <= datetime.now(UTC)

    @property
    def usable(self) -> bool:
        """Whether the key can still be exchanged for a token."""
        return not self.revoked and not self.expired


class APIKeyFilter(BaseFilter):
    """Filter the API keys of one service account."""

    include_revoked: bool = True


class Principal(BaseModel):
    """Who a request acts for: an active user, or an active service account through one
    of its valid API keys. Built fresh from the store on every request, so a
    deactivation or a revocation takes effect on the next request."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: AccountKind
    id: str
    name: str
    role: AccountRole
    api_key_id: str | None = None

    def __str__(self) -> str:
        kind = "user" if self.kind == AccountKind.USER else "service account"
        return f"{kind} {self.name!r} ({self.role.value})"
