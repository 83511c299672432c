"""Typed FastAPI dependencies: the store, the settings, and the permission checks.

Every route except ``/health``, ``/api/v1/info`` and ``/api/v1/login`` declares one of
``ReadAccess``, ``WriteAccess`` or ``AdminAccess`` (routers do it once for all their
routes), so a route cannot forget its permission check. ``tests/server`` walks
``/openapi.json`` to check that every route carries one.

A request carries a bearer token (``POST /api/v1/login`` makes one), an API key in
``X-API-Key``, or the dashboard's session cookie (``POST /api/v1/session`` sets it);
each is checked against the store on every request (one indexed read), so a deactivated
account or a revoked key is refused at once. No credentials, or bad ones, answer 401; a
role without the permission answers 403. A request authenticated by the cookie alone
that changes anything must also echo the CSRF cookie in ``X-CSRF-Token`` (double
submit): another site can make a browser send the cookie, but cannot read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from headrace.exceptions import AuthenticationError
from headrace.models import Principal
from headrace.server.auth import Authenticator, Permission, require
from headrace.server.auth.session import check_csrf, session_token
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


# -- authentication and permissions ------------------------------------------------------
# Both schemes are declared as security dependencies, so /openapi.json shows which routes
# need credentials and a test can walk it.
_BEARER = OAuth2PasswordBearer(tokenUrl="/api/v1/login", auto_error=False)
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
NOT_AUTHENTICATED = (
    "Not authenticated: send 'Authorization: Bearer <token>' (get one from POST "
    "/api/v1/login) or 'X-API-Key: <key>'."
)


def get_authenticator(request: Request) -> Authenticator:
    """The authenticator the application made at start."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


def current_principal(
    request: Request,
    auth: AuthenticatorDep,
    token: Annotated[str | None, Security(_BEARER)],
    api_key: Annotated[str | None, Security(_API_KEY)],
) -> Principal:
    """The account of the request's bearer token or API key, as the store has it now.

    Raises:
        AuthenticationError: no credentials, or they are not (or no longer) valid (401).
    """
    if token:
        principal = auth.principal(token)
    elif api_key:
        address = request.client.host if request.client else None
        principal = auth.api_key_principal(api_key, address)
    elif (cookie := session_token(request.cookies)) is not None:
        check_csrf(request.method, request.cookies, request.headers)
        principal = auth.principal(cookie)
    else:
        raise AuthenticationError(NOT_AUTHENTICATED)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_read(principal: CurrentPrincipal) -> Principal:
    """Reading metadata (viewers and up)."""
    require(principal, Permission.READ)
    return principal


def require_write(principal: CurrentPrincipal) -> Principal:
    """Creating, changing and running (editors and up)."""
    require(principal, Permission.WRITE)
    return principal


def require_admin(principal: CurrentPrincipal) -> Principal:
    """Managing accounts (admins)."""
    require(principal, Permission.MANAGE_ACCOUNTS)
    return principal


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
# Who sent a request, as far as permissions go (routes name it ``caller``).
Caller = Principal
ReadAccess = Annotated[Principal, Depends(require_read)]
WriteAccess = Annotated[Principal, Depends(require_write)]
AdminAccess = Annotated[Principal, Depends(require_admin)]
PERMISSION_DEPENDENCIES = (require_read, require_write, require_admin)
