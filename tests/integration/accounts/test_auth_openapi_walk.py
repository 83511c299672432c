"""Every route of ``/openapi.json`` of a real ``headrace server`` subprocess answers 401
without credentials (and with bad ones) and 403 to a role without the right, except
``/health``, ``/api/v1/info``, ``/api/v1/login`` and the dashboard's ``/api/v1/session``,
which are open.

The permission each route needs is read from the application's own dependency tree
(``ReadAccess`` / ``WriteAccess`` / ``AdminAccess``), so a route that declares none fails
here; the answers come from the real server over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headrace.server.auth import Permission
from headrace.server.deps import require_admin, require_read, require_write
from headrace_server import HeadraceServer

OPEN_ROUTES = {
    ("GET", "/health"),
    ("GET", "/api/v1/info"),
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/session"),  # the dashboard's login: sets the session cookie
    ("DELETE", "/api/v1/session"),  # its logout: clears the cookies
}
PASSWORD = "walk-the-routes-password"
_PERMISSIONS = {
    require_read: Permission.READ,
    require_write: Permission.WRITE,
    require_admin: Permission.MANAGE_ACCOUNTS,
}
# A user whose role lacks each permission (vera: viewer, eddie: editor); READ is every
# role's, so no 403 is possible there.
_WITHOUT = {Permission.WRITE: "vera", Permission.MANAGE_ACCOUNTS: "eddie"}


def _permissions_of(dependant: Any) -> set[Permission]:
    found = set()
    for sub in dependant.dependencies:
        if sub.call in _PERMISSIONS:
            found.add(_PERMISSIONS[sub.call])
        found |= _permissions_of(sub)
    return found


def required_permissions() -> dict[tuple[str, str], Permission]:
    """(method, path) -> the permission the route's dependencies require, for every
    route the application has (hyphenated snapshot spellings included)."""
    from headrace.server.app import create_app

    result = {}
    for route in create_app().routes:
        contexts = getattr(route, "effective_route_contexts", None)  # FastAPI >= 0.130
        for item in contexts() if contexts is not None else [route]:
            dependant = getattr(item, "dependant", None)
            if dependant is None:
                continue
            for method in item.methods or ():
                if (method, item.path) in OPEN_ROUTES:
                    continue
                found = _permissions_of(dependant)
                assert len(found) == 1, f"{method} {item.path} needs one permission: {found}"
                result[(method, item.path)] = found.pop()
    return result


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[HeadraceServer]:
    # Every route is called with a bad API key once: no address lockout for this walk.
    server = HeadraceServer(
        tmp_path_factory.mktemp("walk"),
        template=migrated_sqlite,
        env={"HEADRACE_SERVER_LOGIN_MAX_ADDRESS_FAILURES": "100000"},
    )
    try:
        for name, role in (("vera", "viewer"), ("eddie", "editor")):
            answer = httpx.post(
                f"{server.url}/api/v1/users",
                json={"name": name, "role": role, "password": PASSWORD},
                headers=server.headers(),
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
        yield server
    finally:
        server.stop()


def _operations(server: HeadraceServer) -> list[tuple[str, str, dict[str, Any]]]:
    schema = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def _call(
    server: HeadraceServer, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    """A request that would pass validation (path values filled, a JSON body), so only
    the credentials decide whether it is refused."""
    url = server.url + re.sub(r"\{[^}]+\}", "walk-test-name", path)
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return httpx.request(method, url, json=body, headers=headers, timeout=60)


def test_every_route_refuses_without_credentials_and_without_the_right(
    server: HeadraceServer,
) -> None:
    needed = required_permissions()
    operations = _operations(server)
    documented = {(method, path) for method, path, _ in operations}
    assert OPEN_ROUTES - {("GET", "/health")} <= documented
    walked = 0
    for method, path, operation in operations:
        if (method, path) in OPEN_ROUTES:
            continue
        assert (method, path) in needed, f"{method} {path} is documented but not routed"
        assert operation.get("security"), f"{method} {path} documents no security scheme"
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "hrk_x"}):
            answer = _call(server, method, path, headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.json()["error"] == "AuthenticationError"
        permission = needed[(method, path)]
        if permission in _WITHOUT:
            weak = server.headers(_WITHOUT[permission], PASSWORD)
            answer = _call(server, method, path, weak)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"] == "PermissionDeniedError"
        strong = {
            Permission.READ: "vera",
            Permission.WRITE: "eddie",
            Permission.MANAGE_ACCOUNTS: "admin",
        }[permission]
        password = PASSWORD if strong != "admin" else None
        headers = server.headers(strong, password) if password else server.headers()
        answer = _call(server, method, path, headers)
        assert answer.status_code not in (401, 403), (method, path, answer.text)
        walked += 1
    assert walked >= 40  # the whole API, not a handful of routes


def test_the_open_routes_need_no_credentials(server: HeadraceServer) -> None:
    assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
    info = httpx.get(f"{server.url}/api/v1/info", timeout=30).json()
    assert info["auth_scheme"] == "oauth2_password_bearer"
    answer = httpx.post(
        f"{server.url}/api/v1/login", data={"username": "nobody", "password": "x"}, timeout=60
    )
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
