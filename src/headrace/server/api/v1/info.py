"""``/health`` and ``/api/v1/info``: open to everyone, no store reads beyond a ping."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from headrace.server.deps import SettingsDep, StoreDep
from headrace.version import __version__

health_router = APIRouter(tags=["server"])
router = APIRouter(tags=["server"])


class Health(BaseModel):
    """The server answers."""

    status: str


class ServerInfo(BaseModel):
    """What a client needs to know about the server before it talks to it."""

    version: str
    database_kind: str
    auth_scheme: str
    workload_manager: str | None = None
    max_concurrent_runs: int
    max_queued_runs: int


@health_router.get("/health", response_model=Health)
def health() -> Health:
    """The server process is up."""
    return Health(status="ok")


@router.get("/info", response_model=ServerInfo)
def info(request: Request, store: StoreDep, settings: SettingsDep) -> ServerInfo:
    """Version, database kind, authentication scheme, and the run queue's settings."""
    url = store.url
    kind = "postgresql" if url.startswith("postgres") else url.split(":", 1)[0]
    manager = getattr(request.app.state, "workload_manager", None)
    return ServerInfo(
        version=__version__,
        database_kind=kind,
        auth_scheme=settings.auth_scheme,
        workload_manager=manager.name if manager is not None else None,
        max_concurrent_runs=settings.max_concurrent_runs,
        max_queued_runs=settings.max_queued_runs,
    )
