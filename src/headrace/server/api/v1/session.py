"""``POST /api/v1/session`` (log in, set the dashboard's cookies) and
``DELETE /api/v1/session`` (log out, clear them).

The login takes the same form as ``POST /api/v1/login`` and the same brute-force limits
apply; instead of answering the token it puts it in an HttpOnly, ``SameSite=Strict``
cookie the page's scripts cannot read, and answers the CSRF token the page must send back
in ``X-CSRF-Token`` on every request that changes something (see ``auth/session.py``).
Logging out clears both cookies; it needs no credentials (it only tells the browser to
forget them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from pydantic import BaseModel

from headrace.models import Principal
from headrace.server.api.v1.login import LoginForm
from headrace.server.auth.session import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token
from headrace.server.deps import AuthenticatorDep

router = APIRouter(prefix="/session", tags=["accounts"])


class SessionAnswer(BaseModel):
    """Who logged in, and the CSRF token to send in ``X-CSRF-Token``."""

    principal: Principal
    csrf_token: str
    expires_in: int


@router.post("", response_model=SessionAnswer)
def open_session(
    request: Request,
    response: Response,
    auth: AuthenticatorDep,
    form: Annotated[LoginForm, Form()],
) -> SessionAnswer:
    """Log in with a user name and password (or an API key) and set the session cookies."""
    address = request.client.host if request.client else None
    issued = auth.login(form.username, form.password, address)
    principal = auth.principal(issued.access_token)
    csrf = new_csrf_token()
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        issued.access_token,
        max_age=issued.expires_in,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=issued.expires_in,
        httponly=False,  # the page reads it to send it back in the header
        samesite="strict",
        secure=secure,
        path="/",
    )
    return SessionAnswer(principal=principal, csrf_token=csrf, expires_in=issued.expires_in)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def close_session(response: Response) -> None:
    """Log out: tell the browser to drop the session and CSRF cookies."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="strict")
