"""``POST /api/v1/login`` (the OAuth2 password form) and ``GET /api/v1/current-user``.

The login is the one route besides ``/health`` and ``/api/v1/info`` that takes no token:
it makes them. ``username`` + ``password``, or an API key alone as the ``password``
(``curl -d password=hrk_... URL/api/v1/login``). Failures are limited per user name and
per client address (429 with ``Retry-After`` once locked).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from headrace.models import Principal
from headrace.server.deps import AuthenticatorDep, ReadAccess

router = APIRouter(tags=["accounts"])


class LoginForm(BaseModel):
    """The OAuth2 password grant's form fields."""

    model_config = ConfigDict(extra="forbid")

    grant_type: Literal["password"] | None = None
    username: str = Field(default="", max_length=255)
    password: str = Field(min_length=1, max_length=4096)
    scope: str = Field(default="", max_length=1000)
    client_id: str | None = Field(default=None, max_length=255)
    client_secret: str | None = Field(default=None, max_length=4096)


class TokenAnswer(BaseModel):
    """A bearer token and how long it is valid (OAuth2's token response)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/login", response_model=TokenAnswer)
def login(
    request: Request, auth: AuthenticatorDep, form: Annotated[LoginForm, Form()]
) -> TokenAnswer:
    """Exchange a user name and password, or an API key, for a bearer token."""
    address = request.client.host if request.client else None
    issued = auth.login(form.username, form.password, address)
    return TokenAnswer(
        access_token=issued.access_token,
        token_type=issued.token_type,
        expires_in=issued.expires_in,
    )


@router.get("/current-user", response_model=Principal)
def current_user(principal: ReadAccess) -> Principal:
    """The account the request's credentials stand for, with its role (every role may
    read; a request without valid credentials gets 401)."""
    return principal
