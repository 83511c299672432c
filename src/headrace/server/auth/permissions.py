"""What each role may do, and who may run a snapshot.

Roles nest: viewers read; editors also create, change, delete and run (and so see the
secret values their runs receive); admins also manage users, service accounts and API
keys. A route asks for one permission; a snapshot may further limit who runs it.
"""

from __future__ import annotations

from enum import StrEnum

from headrace.enums import AccountRole
from headrace.exceptions import PermissionDeniedError
from headrace.models import Principal, SnapshotRequest, SnapshotResponse


class Permission(StrEnum):
    """One right a route needs."""

    READ = "read"
    WRITE = "write"
    READ_SECRET_VALUES = "read_secret_values"
    MANAGE_ACCOUNTS = "manage_accounts"


ROLE_PERMISSIONS: dict[AccountRole, frozenset[Permission]] = {
    AccountRole.VIEWER: frozenset({Permission.READ}),
    AccountRole.EDITOR: frozenset(
        {Permission.READ, Permission.WRITE, Permission.READ_SECRET_VALUES}
    ),
    AccountRole.ADMIN: frozenset(Permission),
}

_NEEDS = {
    Permission.READ: "read",
    Permission.WRITE: "create, change or run anything",
    Permission.READ_SECRET_VALUES: "read secret values",
    Permission.MANAGE_ACCOUNTS: "manage users, service accounts and API keys",
}


def roles_with(permission: Permission) -> list[AccountRole]:
    """The roles that hold ``permission``, highest first."""
    return [role for role in AccountRole if permission in ROLE_PERMISSIONS[role]]


def has_permission(principal: Principal, permission: Permission) -> bool:
    """Whether the principal's role holds ``permission``."""
    return permission in ROLE_PERMISSIONS[principal.role]


def require(principal: Principal, permission: Permission) -> None:
    """Raise unless the principal's role holds ``permission``.

    Raises:
        PermissionDeniedError: naming the account, its role and the roles that may.
    """
    if not has_permission(principal, permission):
        allowed = " or ".join(role.value for role in roles_with(permission))
        raise PermissionDeniedError(
            f"{str(principal).capitalize()} may not {_NEEDS[permission]}; "
            f"that needs the {allowed} role."
        )


def may_run_snapshot(principal: Principal, snapshot: SnapshotResponse) -> bool:
    """Whether the principal may run ``snapshot``: its role must allow running, and a
    restricted snapshot must name the account or its role (admins always may)."""
    if not has_permission(principal, Permission.WRITE):
        return False
    if principal.role == AccountRole.ADMIN or not snapshot.restricted:
        return True
    return principal.name in snapshot.allowed_users or principal.role in snapshot.allowed_roles


def require_run_snapshot(principal: Principal, snapshot: SnapshotResponse) -> None:
    """Raise unless the principal may run ``snapshot``.

    Raises:
        PermissionDeniedError: saying who may run it.
    """
    require(principal, Permission.WRITE)
    if may_run_snapshot(principal, snapshot):
        return
    who = [f"user {name!r}" for name in snapshot.allowed_users]
    who += [f"role {role.value!r}" for role in snapshot.allowed_roles]
    label = repr(snapshot.name) if snapshot.name else snapshot.id
    raise PermissionDeniedError(
        f"{str(principal).capitalize()} may not run snapshot {label}: it may be run "
        f"only by {', '.join(who)} (and admins)."
    )


def require_set_snapshot_access(principal: Principal, request: SnapshotRequest) -> None:
    """Raise if a new snapshot names who may run it and the principal is no admin:
    deciding who runs what is an admin's call.

    Raises:
        PermissionDeniedError: naming the fields.
    """
    if (request.allowed_users or request.allowed_roles) and not has_permission(
        principal, Permission.MANAGE_ACCOUNTS
    ):
        raise PermissionDeniedError(
            f"{str(principal).capitalize()} may not set allowed_users or allowed_roles of a "
            "snapshot; that needs the admin role."
        )
