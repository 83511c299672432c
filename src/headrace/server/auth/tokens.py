"""Bearer tokens: short JSON Web Tokens (HS256) naming the account they were issued to.

A token says who (account kind and id, and the API key it came from) and until when; it
says nothing about rights. The role and the active flag are read from the store on every
request (one indexed read), so a deactivation, a role change or a revoked key takes
effect on the next request, while the token itself stays cheap to check.

The signing secret comes from ``HEADRACE_SERVER_JWT_SECRET``, else from a file made on
first use in the server's data directory, readable by its owner only. Servers sharing
one PostgreSQL database must share the secret (set the variable).
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from headrace.enums import AccountKind
from headrace.exceptions import AuthenticationError, ConfigurationError
from headrace.models import Principal
from headrace.utils.env import (
    ENV_SERVER_JWT_EXPIRE_MINUTES,
    ENV_SERVER_JWT_SECRET,
    env_number,
)

SECRET_FILE = "jwt.secret"
ALGORITHM = "HS256"
ISSUER = "headrace"
DEFAULT_EXPIRE_MINUTES = 24 * 60
# Tokens whose signature was checked, kept until they expire: a client sends the same
# token on every request, and checking an HS256 signature costs more than the store read
# that follows (which is what makes a deactivation take effect at once, so it stays).
_VERIFIED_LIMIT = 10_000
_MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token names: the account, and the API key it was made from."""

    kind: AccountKind
    account_id: str
    api_key_id: str | None
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    """A token as the login answers it (the OAuth2 token response's fields)."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"


def load_or_create_secret(directory: Path) -> str:
    """The signing secret: ``HEADRACE_SERVER_JWT_SECRET``, else ``directory/jwt.secret``
    (made with 0600 permissions on first use; concurrent first starts agree on one).

    Raises:
        ConfigurationError: the secret given is too short to be safe.
    """
    secret = os.environ.get(ENV_SERVER_JWT_SECRET)
    source = ENV_SERVER_JWT_SECRET
    if secret is None:
        path = directory / SECRET_FILE
        source = str(path)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        secret = _read_complete(path)
    if len(secret.strip()) < _MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"The token signing secret from {source} has {len(secret.strip())} characters; "
            f"use at least {_MIN_SECRET_LENGTH} random ones."
        )
    return secret.strip()


def _read_complete(path: Path) -> str:
    """The secret file's text, waiting briefly if another process is still writing it."""
    for _ in range(50):
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.02)
    return path.read_text().strip()


class TokenIssuer:
    """Issues and checks tokens with one secret.

    Args:
        secret: the HS256 signing secret.
        expire_minutes: how long a token is valid (``HEADRACE_SERVER_JWT_TOKEN_EXPIRE_MINUTES``
            by default, else a day).
    """

    def __init__(self, secret: str, expire_minutes: float | None = None) -> None:
        self._secret = secret
        if expire_minutes is None:
            expire_minutes = env_number(
                ENV_SERVER_JWT_EXPIRE_MINUTES, DEFAULT_EXPIRE_MINUTES, minimum=1
            )
        self.expire_seconds = int(expire_minutes * 60)
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, principal: Principal) -> IssuedToken:
        """A new token for ``principal``."""
        import jwt

        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": principal.id,
            "kind": principal.kind.value,
            "iat": now,
            "exp": now + self.expire_seconds,
            "jti": uuid.uuid4().hex,
        }
        if principal.api_key_id is not None:
            claims["key"] = principal.api_key_id
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(access_token=token, expires_in=self.expire_seconds)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this server signed and that has not expired.

        Raises:
            AuthenticationError: the token is malformed, forged or expired.
        """
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            return known
        claims = self._decode(token)
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified.clear()  # rare; dropping all is simpler than an LRU here
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> TokenClaims:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("The token has expired; log in again.") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("The token is not valid; log in again.") from exc
        try:
            kind = AccountKind(str(claims.get("kind")))
        except ValueError as exc:
            raise AuthenticationError("The token is not valid; log in again.") from exc
        key = claims.get("key")
        return TokenClaims(
            kind=kind,
            account_id=str(claims["sub"]),
            api_key_id=str(key) if key is not None else None,
            expires_at=int(claims["exp"]),
        )
