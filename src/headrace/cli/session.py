"""``headrace login``, ``logout`` and ``status``: which store the CLI and the Client talk
to, and as whom.

::

    headrace login http://127.0.0.1:8237 [--username NAME] [--password P]   (prompts)
    headrace login http://127.0.0.1:8237 --api-key hrk_...
    headrace logout
    headrace status

After a login every command (and ``Client()`` in Python) uses that server, until
``headrace logout``; ``HEADRACE_STORE_URL`` still wins for one shell. The session file
is readable by its owner only and holds no password.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from headrace.cli.formatting import format_time
from headrace.cli.output import stderr_console, stdout_console


def _say(message: str) -> None:
    stderr_console().print(message, markup=False, soft_wrap=True)


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. http://127.0.0.1:8237.")],
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="User name (asked for if missing).")
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Password (asked for, hidden, if missing).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="Log in as a service account with this API key."),
    ] = None,
) -> None:
    """Log in to a headrace server; later commands use it until `headrace logout`."""
    from headrace.store.factory import forget_stores
    from headrace.store.session import login as start_session
    from headrace.store.session import normalize_url

    url = normalize_url(url)
    if api_key is None:
        if username is None:
            username = str(typer.prompt("Username"))
        if password is None:
            password = str(typer.prompt("Password", hide_input=True))
    session = start_session(url, username, password, api_key)
    forget_stores()
    principal = _who(session.url)
    who = str(principal) if principal is not None else (session.username or "service account")
    _say(f"Logged in to {session.url} as {who}.")


def _who(url: str) -> object | None:
    from headrace.store.factory import get_store

    return get_store(url).current_principal()


def logout() -> None:
    """Forget the current login; commands use the local store again."""
    from headrace.store.factory import forget_stores
    from headrace.store.session import forget_session

    session = forget_session()
    forget_stores()
    if session is None:
        _say("Not logged in to any server.")
    else:
        _say(f"Logged out of {session.url}.")


def status() -> None:
    """Show which store commands use, and as which account."""
    from headrace.store.factory import get_store, store_location
    from headrace.store.session import load_session

    url, _ = store_location()
    console = stdout_console()
    if not url.startswith(("http://", "https://")):
        kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        console.print(f"Store: {url} (local {kind})", markup=False, soft_wrap=True)
        console.print("User: none (a local store has no accounts)", markup=False)
        return
    console.print(f"Store: {url} (headrace server)", markup=False, soft_wrap=True)
    principal = get_store(url).current_principal()
    console.print(f"User: {principal}", markup=False)
    session = load_session()
    if session is not None and session.url == url and session.expires_at and not session.api_key:
        until = datetime.fromtimestamp(session.expires_at, UTC)
        console.print(f"Token valid until: {format_time(until)}", markup=False)
