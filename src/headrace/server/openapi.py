"""The OpenAPI document: FastAPI's, with the error answers this server really gives.

Every error answer is ``{"detail": str, "error": str, ...}`` (see ``errors.py``), so the
document says so for 400, 404, 409, 413 and 422 on every operation, instead of
FastAPI's default 422 shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ERROR_STATUSES = {
    "400": "The request cannot be applied (a bad filter, a store rule).",
    "404": "Nothing has that name or id.",
    "409": "The name is taken, or the write conflicts with stored data.",
    "413": "The request body is larger than the server accepts.",
    "422": "The request is malformed or its values do not fit (every problem listed).",
}
# Answers of the routes that take credentials (and of the login itself).
AUTH_STATUSES = {
    "401": "No valid credentials: a missing, bad or expired token or API key, or a "
    "deactivated account.",
    "403": "The account's role (or the snapshot's rule) does not allow this.",
    "429": "Too many failed logins from this address or for this user; retry later.",
}
LOGIN_PATH = "/api/v1/login"


class ErrorBody(BaseModel):
    """An error answer."""

    detail: str
    error: str
    problems: list[str] | None = None
    unique: bool | None = None


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe the server's error answers (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_errors(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_errors(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = dict(ERROR_STATUSES)
            if operation.get("security"):
                statuses.update(AUTH_STATUSES)
            elif path == LOGIN_PATH:
                statuses.update({k: AUTH_STATUSES[k] for k in ("401", "429")})
            for status, description in statuses.items():
                responses[status] = {
                    "description": responses.get(status, {}).get("description", description),
                    "content": {"application/json": {"schema": reference}},
                }
    return document
