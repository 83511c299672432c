"""Typed FastAPI dependencies: the store, the settings, and the permission checks.

Every route except ``/health``, ``/api/v1/info`` and ``/api/v1/login`` declares one of
``ReadAccess``, ``WriteAccess`` or ``AdminAccess`` (routers do it once for all their
routes), so a route cannot forget its permission check. ``tests/server`` walks
``/openapi.json`` to check that every route carries one.

The permission checks accept every request until accounts exist; they are the one
place that changes when users, roles and tokens arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from headrace.server.settings import ServerSettings
from headrace.store.base import Store


def get_store(request: Request) -> Store:
    """The store the application opened at start."""
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> ServerSettings:
    """The settings the application was created with."""
    settings: ServerSettings = request.app.state.settings
    return settings


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as far as permissions go."""

    name: str
    role: str
    user_id: str | None = None


# Until accounts exist every request is this caller.
ANONYMOUS = Caller(name="anonymous", role="admin")


def require_read(request: Request) -> Caller:
    """Reading metadata (viewers and up)."""
    return ANONYMOUS


def require_write(request: Request) -> Caller:
    """Creating and running (editors and up)."""
    return ANONYMOUS


def require_admin(request: Request) -> Caller:
    """Managing accounts and the server (admins)."""
    return ANONYMOUS


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
ReadAccess = Annotated[Caller, Depends(require_read)]
WriteAccess = Annotated[Caller, Depends(require_write)]
AdminAccess = Annotated[Caller, Depends(require_admin)]
PERMISSION_DEPENDENCIES = (require_read, require_write, require_admin)
