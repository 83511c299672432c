"""The dashboard's browser session: a bearer token kept in an HttpOnly cookie, and the
CSRF check that goes with it.

A browser sends cookies with every request to the server, including requests another
site makes it send; so a request authenticated by the session cookie alone that changes
anything must also carry the CSRF token in the ``X-CSRF-Token`` header, equal to the
(readable, not HttpOnly) CSRF cookie. Another site can make the browser send both
cookies but cannot read them to fill the header (double submit). Both cookies are
``SameSite=Strict`` as well. Bearer tokens and API keys sent in headers need no CSRF
token: a browser never adds those on its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from headrace.exceptions import PermissionDeniedError

SESSION_COOKIE = "headrace_session"
CSRF_COOKIE = "headrace_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(cookies: Mapping[str, str]) -> str | None:
    """The bearer token in the session cookie, if the request has one."""
    token = cookies.get(SESSION_COOKIE)
    return token or None


def new_csrf_token() -> str:
    """A fresh random CSRF token for a new session."""
    return secrets.token_urlsafe(32)


def check_csrf(method: str, cookies: Mapping[str, str], headers: Mapping[str, str]) -> None:
    """Refuse an unsafe request whose ``X-CSRF-Token`` header does not echo the CSRF cookie.

    Raises:
        PermissionDeniedError: the header is missing or differs from the cookie (403).
    """
    if method.upper() in SAFE_METHODS:
        return
    expected = cookies.get(CSRF_COOKIE) or ""
    given = headers.get(CSRF_HEADER) or ""
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise PermissionDeniedError(
            f"Missing or wrong {CSRF_HEADER} header: a request authenticated by the "
            f"session cookie that changes anything must send the value of the "
            f"{CSRF_COOKIE!r} cookie in it."
        )
