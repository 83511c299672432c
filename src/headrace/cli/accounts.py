"""``headrace user ...`` and ``headrace service-account ...``: the accounts a server
knows, managed in the store the CLI talks to (a local one, or a server as an admin).

::

    headrace user create NAME --role ROLE [--password PASSWORD]   (prompts if missing)
    headrace user list [--role ROLE]
    headrace user update NAME [--role ROLE] [--password P | --prompt-password] [--active/--inactive]
    headrace user deactivate NAME
    headrace service-account create NAME --role ROLE [--description TEXT]
    headrace service-account list | update NAME ... | deactivate NAME
    headrace service-account api-key NAME create KEY_NAME [--expires-in 90d]
    headrace service-account api-key NAME list | revoke KEY_NAME

Passwords are never printed. A new API key is printed once, alone on stdout (so
``KEY=$(headrace service-account api-key ci create deploy)`` works), with the note
that it cannot be shown again on stderr.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.enums import AccountRole
from headrace.exceptions import ConfigurationError

user_app = typer.Typer(no_args_is_help=True, help="Users: people who log in to a server.")
service_account_app = typer.Typer(
    no_args_is_help=True, help="Service accounts: programs that log in with API keys."
)
api_key_app = typer.Typer(
    no_args_is_help=True, help="API keys of service account NAME (shown once, revocable)."
)

RoleOption = Annotated[
    AccountRole,
    typer.Option("--role", "-r", help="viewer: read; editor: also create and run; admin: all."),
]
NewRoleOption = Annotated[AccountRole | None, typer.Option("--role", "-r", help="New role.")]
ActiveOption = Annotated[
    bool | None,
    typer.Option("--active/--inactive", help="Reactivate or deactivate.", show_default=False),
]
UserArgument = Annotated[str, typer.Argument(help="User name or id.", show_default=False)]
AccountArgument = Annotated[
    str, typer.Argument(help="Service account name or id.", show_default=False)
]
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _say(message: str) -> None:
    stderr_console().print(message, markup=False, soft_wrap=True)


def _active_text(active: bool) -> Text:
    return Text("active") if active else Text("deactivated", style="dim")


def _ask_password(what: str) -> str:
    return str(typer.prompt(what, hide_input=True, confirmation_prompt=True))


# -- users --------------------------------------------------------------------------------
@user_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="Name of the new user.", show_default=False)],
    role: RoleOption = AccountRole.VIEWER,
    password: Annotated[
        str | None,
        typer.Option("--password", help="The password (asked for, hidden, when omitted)."),
    ] = None,
) -> None:
    """Create user NAME with a role and a password."""
    from headrace.client import Client

    if password is None:
        password = _ask_password(f"Password for {name}")
    user = Client().create_user(name, password=password, role=role)
    _say(f"Created user {user.name!r} with role {user.role.value}.")


@user_app.command("list")
def list_users(
    role: Annotated[
        AccountRole | None, typer.Option("--role", "-r", help="Only this role.")
    ] = None,
) -> None:
    """List users with their role and state."""
    from headrace.client import Client

    page = Client().list_users(role=role, size=10_000, sort_by="asc:name")
    table = new_table("user", "role", "state", "created", "id")
    for user in page:
        table.add_row(
            user.name,
            user.role.value,
            _active_text(user.active),
            format_time(user.created),
            short_id(user.id),
        )
    print_table(table, "No users yet; create one with: headrace user create NAME --role ROLE")


@user_app.command("update")
def update_user(
    name: UserArgument,
    role: NewRoleOption = None,
    password: Annotated[str | None, typer.Option("--password", help="New password.")] = None,
    prompt_password: Annotated[
        bool, typer.Option("--prompt-password", help="Ask for a new password (hidden).")
    ] = False,
    active: ActiveOption = None,
) -> None:
    """Change a user's role, password or state."""
    from headrace.client import Client

    if password is not None and prompt_password:
        raise ConfigurationError("Give --password or --prompt-password, not both.")
    if prompt_password:
        password = _ask_password(f"New password for {name}")
    if role is None and password is None and active is None:
        raise ConfigurationError(
            "Nothing to change: give --role, --password, --prompt-password, --active or --inactive."
        )
    user = Client().update_user(name, role=role, password=password, active=active)
    changed = ", password changed" if password is not None else ""
    state = "active" if user.active else "deactivated"
    _say(f"Updated user {user.name!r}: role {user.role.value}, {state}{changed}.")


@user_app.command("deactivate")
def deactivate_user(name: UserArgument) -> None:
    """Deactivate a user: logins and the user's tokens stop working at once."""
    from headrace.client import Client

    user = Client().deactivate_user(name)
    _say(
        f"Deactivated user {user.name!r}; reactivate with: "
        f"headrace user update {user.name} --active"
    )


# -- service accounts ---------------------------------------------------------------------
@service_account_app.command("create")
def create_service_account(
    name: Annotated[str, typer.Argument(help="Name of the new account.", show_default=False)],
    role: RoleOption = AccountRole.VIEWER,
    description: Annotated[
        str | None, typer.Option("--description", help="What it is for.")
    ] = None,
) -> None:
    """Create service account NAME; give it API keys with `api-key NAME create`."""
    from headrace.client import Client

    account = Client().create_service_account(name, role=role, description=description)
    _say(
        f"Created service account {account.name!r} with role {account.role.value}; make it a "
        f"key with: headrace service-account api-key {account.name} create KEY_NAME"
    )


@service_account_app.command("list")
def list_service_accounts() -> None:
    """List service accounts with their role and state."""
    from headrace.client import Client

    page = Client().list_service_accounts(size=10_000, sort_by="asc:name")
    table = new_table("service account", "role", "state", "description", "created", "id")
    for account in page:
        table.add_row(
            account.name,
            account.role.value,
            _active_text(account.active),
            account.description or MISSING,
            format_time(account.created),
            short_id(account.id),
        )
    print_table(
        table,
        "No service accounts yet; create one with: "
        "headrace service-account create NAME --role ROLE",
    )


@service_account_app.command("update")
def update_service_account(
    name: AccountArgument,
    role: NewRoleOption = None,
    description: Annotated[
        str | None, typer.Option("--description", help="New description.")
    ] = None,
    active: ActiveOption = None,
) -> None:
    """Change a service account's role, description or state."""
    from headrace.client import Client

    if role is None and description is None and active is None:
        raise ConfigurationError(
            "Nothing to change: give --role, --description, --active or --inactive."
        )
    account = Client().update_service_account(
        name, role=role, description=description, active=active
    )
    state = "active" if account.active else "deactivated"
    _say(f"Updated service account {account.name!r}: role {account.role.value}, {state}.")


@service_account_app.command("deactivate")
def deactivate_service_account(name: AccountArgument) -> None:
    """Deactivate a service account: its API keys and tokens stop working at once."""
    from headrace.client import Client

    account = Client().deactivate_service_account(name)
    _say(f"Deactivated service account {account.name!r}.")


# -- API keys -----------------------------------------------------------------------------
@api_key_app.callback()
def api_keys(ctx: typer.Context, name: AccountArgument) -> None:
    """API keys of service account NAME (shown once, revocable)."""
    ctx.obj = name


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``2w`` or ``3600s`` as a time span.

    Raises:
        ConfigurationError: the text is not a positive number with one of those units.
    """
    match = _DURATION_RE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ConfigurationError(
            f"--expires-in {text!r} is not a duration; write a positive number and a unit: "
            "s, m, h, d or w (e.g. 90d, 12h)."
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@api_key_app.command("create")
def create_api_key(
    ctx: typer.Context,
    key_name: Annotated[str, typer.Argument(help="Name of the new key.", show_default=False)],
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 90d, 12h (default: none).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What it is for.")
    ] = None,
) -> None:
    """Create API key KEY_NAME and print it: the only time it is shown."""
    from headrace.client import Client

    lifetime = None if expires_in is None else parse_duration(expires_in)
    key = Client().create_api_key(ctx.obj, key_name, description=description, expires_in=lifetime)
    until = f", valid until {format_time(key.expires)}" if key.expires else ""
    _say(
        f"Created API key {key.name!r} for service account {key.service_account_name!r}"
        f"{until}. Store it now: it is not shown again."
    )
    stdout_console().print(key.key, markup=False, soft_wrap=True)


@api_key_app.command("list")
def list_api_keys(ctx: typer.Context) -> None:
    """List the keys of the service account (never the keys themselves)."""
    from headrace.client import Client

    page = Client().list_api_keys(ctx.obj, size=10_000, sort_by="asc:name")
    table = new_table("key", "state", "expires", "last used", "created", "id")
    for key in page:
        state = (
            Text("revoked", style="dim")
            if key.revoked
            else (Text("expired", style="dim") if key.expired else Text("active"))
        )
        table.add_row(
            key.name,
            state,
            format_time(key.expires) if key.expires else MISSING,
            format_time(key.last_used) if key.last_used else MISSING,
            format_time(key.created),
            short_id(key.id),
        )
    print_table(
        table,
        f"Service account {ctx.obj!r} has no API keys; make one with: "
        f"headrace service-account api-key {ctx.obj} create KEY_NAME",
    )


@api_key_app.command("revoke")
def revoke_api_key(
    ctx: typer.Context,
    key_name: Annotated[str, typer.Argument(help="Key name or id.", show_default=False)],
) -> None:
    """Revoke a key: it and the tokens made from it stop working at once."""
    from headrace.client import Client

    key = Client().revoke_api_key(ctx.obj, key_name)
    _say(f"Revoked API key {key.name!r} of service account {key.service_account_name!r}.")
