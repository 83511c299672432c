"""Password and API key hashing: what the store keeps instead of the secrets.

Passwords are chosen by people and may be weak, so they are hashed with argon2id (slow
and memory-hard on purpose; argon2-cffi's recommended parameters, which it encodes in
the hash so they can be raised later). API keys are 256 random bits made here, so a
single SHA-256 is enough to make a stolen table useless, and it keeps a key login cheap.

An API key reads ``hrk_<key id>_<secret>``: the key id (the row's id without dashes)
lets the store find the row by primary key; only the secret part is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from typing import Any

API_KEY_PREFIX = "hrk_"
_API_KEY_RE = re.compile(r"^hrk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")

_hasher: Any = None
_dummy_hash: str | None = None
_lock = threading.Lock()


def _password_hasher() -> Any:
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; parameters encoded in the result)."""
    return str(_password_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; never raises for a mismatch."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_password_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return bool(_password_hasher().check_needs_rehash(password_hash))


def waste_password_check(password: str) -> None:
    """Spend the time of one password check, for a user name that does not exist, so
    the answer's timing does not reveal which names exist."""
    global _dummy_hash
    with _lock:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)


def new_api_key(key_id: str) -> tuple[str, str]:
    """A new API key for the row ``key_id``, and the hash to store: ``(key, key_hash)``."""
    secret = secrets.token_urlsafe(32)  # 43 characters
    return f"{API_KEY_PREFIX}{key_id.replace('-', '')}_{secret}", api_key_hash(secret)


def api_key_hash(secret: str) -> str:
    """The stored form of an API key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(key: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed API key, else ``None``."""
    match = _API_KEY_RE.match(key.strip())
    if match is None:
        return None
    raw = match.group(1)
    key_id = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return key_id, match.group(2)


def looks_like_api_key(value: str) -> bool:
    """Whether ``value`` has an API key's shape (so a login treats it as one)."""
    return value.strip().startswith(API_KEY_PREFIX)


def api_key_matches(secret: str, key_hash: str) -> bool:
    """Whether ``secret`` hashes to ``key_hash`` (constant-time comparison)."""
    return hmac.compare_digest(api_key_hash(secret), key_hash)
