"""Accounts on the server: passwords, tokens, API keys, roles and login limits.

Nothing here imports FastAPI: the server's dependencies (``server/deps.py``) and the
login route call these, and tests use them directly.

* ``store.credentials``: argon2id password hashes, API keys (made here, shown once,
  stored as SHA-256), re-exported below.
* ``tokens``: JWT bearer tokens (HS256) and their signing secret.
* ``login``: ``Authenticator``, credentials to token, token to principal.
* ``limiter``: brute-force limits per user name and per address.
* ``permissions``: role to permission mapping, who may run a snapshot.
* ``bootstrap``: the first admin.
"""

from headrace.server.auth.bootstrap import DEFAULT_ADMIN_NAME, ensure_first_admin
from headrace.server.auth.limiter import LoginLimiter
from headrace.server.auth.login import Authenticator
from headrace.server.auth.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    has_permission,
    may_run_snapshot,
    require,
    require_run_snapshot,
    require_set_snapshot_access,
)
from headrace.server.auth.tokens import IssuedToken, TokenClaims, TokenIssuer, load_or_create_secret
from headrace.store.credentials import (
    hash_password,
    new_api_key,
    parse_api_key,
    verify_password,
)

__all__ = [
    "DEFAULT_ADMIN_NAME",
    "ROLE_PERMISSIONS",
    "Authenticator",
    "IssuedToken",
    "LoginLimiter",
    "Permission",
    "TokenClaims",
    "TokenIssuer",
    "ensure_first_admin",
    "has_permission",
    "hash_password",
    "load_or_create_secret",
    "may_run_snapshot",
    "new_api_key",
    "parse_api_key",
    "require",
    "require_run_snapshot",
    "require_set_snapshot_access",
    "verify_password",
]
