"""The first admin: a new server has no accounts, so someone must be able to log in.

At the first start (no user at all) the server creates user ``admin`` with the role
admin and the password ``HEADRACE_DEFAULT_PASSWORD``, or, without that variable, a
random one-time password that the server prints once and never stores in clear. Later
starts change nothing, even when the variable changes.
"""

from __future__ import annotations

import os
import secrets

from pydantic import ValidationError

from headrace.enums import AccountRole
from headrace.exceptions import ConfigurationError, EntityExistsError
from headrace.models import UserFilter, UserRequest
from headrace.store.base import Store
from headrace.utils.env import ENV_DEFAULT_PASSWORD

DEFAULT_ADMIN_NAME = "admin"


def ensure_first_admin(store: Store) -> str | None:
    """Create the first admin if the store has no user.

    Returns:
        The generated password to show once, or ``None`` when nothing was generated
        (users exist already, or ``HEADRACE_DEFAULT_PASSWORD`` gave the password).
    """
    if store.list_users(UserFilter(size=1)).total:
        return None
    given = os.environ.get(ENV_DEFAULT_PASSWORD)
    password = given or secrets.token_urlsafe(18)
    try:
        request = UserRequest(name=DEFAULT_ADMIN_NAME, role=AccountRole.ADMIN, password=password)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"{ENV_DEFAULT_PASSWORD} is not usable: {problem}.") from exc
    try:
        store.create_user(request)
    except EntityExistsError:
        return None  # another server process starting at the same time made it
    return None if given else password


def first_admin_banner(password: str) -> str:
    """What the server prints at its first start when it generated the admin password."""
    return (
        f"Created the first user {DEFAULT_ADMIN_NAME!r} (role admin) with the one-time "
        f"password:\n\n    {password}\n\nIt is shown only now. Log in with "
        f"'headrace login URL --username {DEFAULT_ADMIN_NAME}', then change it with "
        f"'headrace user update {DEFAULT_ADMIN_NAME} --prompt-password'."
    )
