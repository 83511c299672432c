"""The HTTP service of a deployment: ``POST /invoke``, ``GET /health``, ``GET /info``.

Built by an app factory around a warm :class:`DeploymentRuntime`. ``/health`` answers on
the event loop and never waits for an invocation; invocations run in worker threads, at
most ``threads`` at once (the others wait for a thread). A request body is read up to
``max_request_bytes`` (413 beyond) and parsed as JSON only: nothing a client sends is
ever unpickled. Bad parameters answer 422 naming every problem; a pipeline that fails
answers 500 with its error and the tracked run's id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from headrace.deployments.auth import Authenticator
from headrace.deployments.runtime import DeploymentRuntime
from headrace.exceptions import (
    AuthenticationError,
    DeploymentInvocationError,
    RunConfigurationError,
)

logger = logging.getLogger("headrace.deployment")


@dataclass(frozen=True)
class ServiceSettings:
    """How the service serves.

    Attributes:
        name: the deployment's name (shown by ``/info``).
        threads: most invocations running at once.
        max_request_bytes: the largest request body accepted.
    """

    name: str
    threads: int = 8
    max_request_bytes: int = 1_048_576


class _Refused(Exception):
    """A request answered with an error before anything ran."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail"))
        self.status = status
        self.body = body


def create_app(
    runtime: DeploymentRuntime, settings: ServiceSettings, authenticator: Authenticator
) -> FastAPI:
    """The service's FastAPI application."""
    app = FastAPI(
        title=f"headrace deployment {settings.name}",
        description=(
            f"Pipeline {runtime.snapshot.spec.name!r} (snapshot {runtime.label!r}) served "
            "over HTTP: POST /invoke with its parameters, get its outputs."
        ),
        version=runtime.snapshot.id,
    )
    limiter = anyio.CapacityLimiter(settings.threads)
    info = _info(runtime, settings, authenticator)

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Whether the service is up (never waits for invocations)."""
        return {"status": "ok"}

    @app.get("/info", tags=["service"])
    async def describe(request: Request) -> JSONResponse:
        """The snapshot served, its parameter schema and output names."""
        try:
            authenticator_check(authenticator, request)
        except _Refused as refused:
            return JSONResponse(refused.body, status_code=refused.status)
        return JSONResponse(info)

    @app.post(
        "/invoke",
        tags=["service"],
        openapi_extra=_invoke_openapi(runtime),
        response_model=None,
    )
    async def invoke(request: Request) -> JSONResponse:
        """Run the pipeline once with the body's ``parameters``; answers its outputs."""
        try:
            authenticator_check(authenticator, request)
            parameters = await _parameters(request, settings.max_request_bytes)
        except _Refused as refused:
            return JSONResponse(refused.body, status_code=refused.status)
        try:
            result = await anyio.to_thread.run_sync(runtime.invoke, parameters, limiter=limiter)
        except RunConfigurationError as error:
            return JSONResponse({"detail": str(error), "problems": error.problems}, status_code=422)
        except DeploymentInvocationError as error:
            logger.error("Invocation failed (run %s): %s", error.run_id, error)
            return JSONResponse({"detail": str(error), "run_id": error.run_id}, status_code=500)
        logger.info("Invocation ran in %.2f ms (run %s)", result.duration_ms, result.run_id)
        return JSONResponse(
            {"outputs": result.outputs, "run_id": result.run_id, "duration_ms": result.duration_ms}
        )

    return app


def authenticator_check(authenticator: Authenticator, request: Request) -> None:
    """Refuse (401) a request without an accepted credential."""
    try:
        authenticator.check(request.headers.get("authorization"))
    except AuthenticationError as error:
        raise _Refused(401, {"detail": str(error)}) from None


async def _parameters(request: Request, limit: int) -> dict[str, Any]:
    """The ``parameters`` of the JSON body, read up to ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, {"detail": f"The request body is larger than {limit} bytes."})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, {"detail": f"The request body is larger than {limit} bytes."})
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise _Refused(400, {"detail": f"The request body is not JSON: {error}."}) from None
    if not isinstance(body, dict):
        raise _Refused(
            422,
            {
                "detail": 'The body must be a JSON object: {"parameters": {...}}.',
                "problems": [f"body: expected an object, got {type(body).__name__}."],
            },
        )
    unknown = sorted(set(body) - {"parameters"})
    if unknown:
        problems = [f"{key}: unknown field (the body has only 'parameters')." for key in unknown]
        raise _Refused(422, {"detail": "; ".join(problems), "problems": problems})
    parameters = body.get("parameters", {})
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        problem = f"parameters: expected an object, got {type(parameters).__name__}."
        raise _Refused(422, {"detail": problem, "problems": [problem]})
    return parameters


def _info(
    runtime: DeploymentRuntime, settings: ServiceSettings, authenticator: Authenticator
) -> dict[str, Any]:
    snapshot = runtime.snapshot
    return {
        "name": settings.name,
        "snapshot_id": snapshot.id,
        "snapshot_name": snapshot.name,
        "pipeline": snapshot.spec.name,
        "parameters_schema": runtime.parameters_schema,
        "outputs": runtime.output_names,
        "tracking": runtime.tracking,
        "threads": settings.threads,
        "max_request_bytes": settings.max_request_bytes,
        "auth": authenticator.required,
    }


def _invoke_openapi(runtime: DeploymentRuntime) -> dict[str, Any]:
    """The request and answer of ``/invoke`` in the OpenAPI document (the body is read
    by hand, so that its size is limited before it is parsed)."""
    body_schema = {
        "type": "object",
        "properties": {"parameters": runtime.parameters_schema},
        "additionalProperties": False,
    }
    outputs: dict[str, Any] = {name: {} for name in runtime.output_names}
    answer = {
        "type": "object",
        "properties": {
            "outputs": {"type": "object", "properties": outputs},
            "run_id": {"type": ["string", "null"]},
            "duration_ms": {"type": "number"},
        },
        "required": ["outputs", "run_id", "duration_ms"],
    }
    problem = {"type": "object", "properties": {"detail": {}, "problems": {"type": "array"}}}
    return {
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": body_schema}},
        },
        "responses": {
            "200": {"description": "The outputs.", "content": _json(answer)},
            "401": {"description": "A bearer key is needed."},
            "413": {"description": "The body is too large."},
            "422": {
                "description": "Bad parameters, every problem named.",
                "content": _json(problem),
            },
            "500": {"description": "The pipeline failed."},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
