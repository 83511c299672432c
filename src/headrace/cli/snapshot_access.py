"""``headrace pipeline snapshot access NAME``: who may run a snapshot on a server.

::

    headrace pipeline snapshot access train                      # show the rule
    headrace pipeline snapshot access train --user alice --role admin
    headrace pipeline snapshot access train --clear              # every editor and admin

``--user`` and ``--role`` replace the lists they name and keep the other one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.output import stdout_console
from headrace.enums import AccountRole
from headrace.exceptions import ConfigurationError
from headrace.models import SnapshotResponse


def describe_access(snapshot: SnapshotResponse) -> str:
    """One line saying who may run ``snapshot``."""
    if not snapshot.restricted:
        return "Anyone with the editor or admin role may run it."
    who = [f"user {name}" for name in snapshot.allowed_users]
    who += [f"role {role.value}" for role in snapshot.allowed_roles]
    return f"Only {', '.join(who)} (and admins) may run it."


def snapshot_access(
    name: Annotated[str, typer.Argument(help="Snapshot name or id.", show_default=False)],
    users: Annotated[
        list[str] | None,
        typer.Option("--user", "-u", help="A user or service account that may run it (repeat)."),
    ] = None,
    roles: Annotated[
        list[AccountRole] | None,
        typer.Option("--role", "-r", help="A role whose accounts may run it (repeat)."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Lift the limits: every editor and admin may run it.")
    ] = False,
) -> None:
    """Show or set who may run a snapshot on a server (named accounts or roles)."""
    from headrace.client import Client

    client = Client()
    if clear and (users or roles):
        raise ConfigurationError("Give --clear alone, or --user/--role without --clear.")
    if clear:
        snapshot = client.set_snapshot_access(name, users=[], roles=[])
    elif users or roles:
        snapshot = client.set_snapshot_access(name, users=users, roles=roles)
    else:
        snapshot = client.get_snapshot(name)
    label = snapshot.name or snapshot.id
    stdout_console().print(f"Snapshot {label}: {describe_access(snapshot)}", markup=False)
