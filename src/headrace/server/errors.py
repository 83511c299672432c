"""How errors become HTTP answers: a status code and ``{"detail", "error"}``.

``error`` is the name of the ``headrace.exceptions`` class, so the RestStore raises the
same exception the SQL store would have. A run configuration that does not fit answers
422 with every problem in ``problems``. Nothing a client sends may end in a 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from headrace import exceptions as errors

logger = logging.getLogger("headrace.server")

# Most specific first: the first class an exception is an instance of decides.
STATUS_CODES: tuple[tuple[type[errors.HeadraceError], int], ...] = (
    (errors.TooManyAttemptsError, 429),
    (errors.QueueFullError, 429),
    (errors.ServerConfigurationError, 503),
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.EntityNotFoundError, 404),
    (errors.EntityExistsError, 409),
    (errors.StoreConflictError, 409),
    (errors.RunConfigurationError, 422),
    (errors.ConfigurationError, 422),
    (errors.ScheduleError, 422),
    (errors.InvalidFilterError, 400),
    (errors.StoreVersionError, 503),
    (errors.HeadraceError, 400),
)


def status_of(error: errors.HeadraceError) -> int:
    """The HTTP status an exception of headrace answers with."""
    for kind, status in STATUS_CODES:
        if isinstance(error, kind):
            return status
    return 400


def error_body(error: BaseException, detail: str | None = None) -> dict[str, object]:
    """The JSON body of an error answer."""
    body: dict[str, object] = {"detail": detail or str(error), "error": type(error).__name__}
    if isinstance(error, errors.RunConfigurationError):
        body["problems"] = error.problems
    if isinstance(error, errors.StoreConflictError):
        body["unique"] = error.unique
    return body


def install_error_handlers(app: FastAPI) -> None:
    """Answer headrace's exceptions, bad requests and bugs with JSON errors."""

    async def headrace_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.HeadraceError)
        return JSONResponse(error_body(exc), status_code=status_of(exc), headers=_headers(exc))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [_problem(e) for e in exc.errors()]
        detail = "Invalid request: " + "; ".join(problems)
        return JSONResponse(
            {"detail": detail, "error": "ValidationError", "problems": problems}, status_code=422
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"detail": str(exc.detail), "error": "HTTPError"},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def value_error(request: Request, exc: Exception) -> JSONResponse:
        # pydantic models built inside a route (a filter from query values) raise these.
        return JSONResponse({"detail": str(exc), "error": "ValidationError"}, status_code=422)

    app.add_exception_handler(errors.HeadraceError, headrace_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ValueError, value_error)

    async def overflow_error(request: Request, exc: Exception) -> JSONResponse:
        # A well-typed integer the database cannot hold (the drivers raise OverflowError).
        detail = f"A number in the request is too large to store: {exc}"
        return JSONResponse({"detail": detail, "error": "ValidationError"}, status_code=422)

    app.add_exception_handler(OverflowError, overflow_error)


def _headers(error: errors.HeadraceError) -> dict[str, str] | None:
    """What RFC 6750 and RFC 6585 ask of 401 and 429 answers."""
    if isinstance(error, errors.TooManyAttemptsError | errors.QueueFullError):
        return {"Retry-After": str(max(1, round(error.retry_after)))}
    if isinstance(error, errors.AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    return None


def _problem(error: dict[str, object]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")  # type: ignore[attr-defined]
    message = str(error.get("msg", "invalid"))
    return f"{location}: {message}" if location else message
