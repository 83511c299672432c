"""The application factory: ``create_app(settings)`` builds a new FastAPI app.

Nothing lives at module level: the store and the run launcher are opened when the app
starts (its lifespan) and closed when it stops, and kept on ``app.state`` for the
dependencies in ``deps.py``. Two apps in one process share nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from headrace.exceptions import ConfigurationError
from headrace.server.api.v1 import api_router, info
from headrace.server.errors import install_error_handlers
from headrace.server.launcher import RunLauncher
from headrace.server.limits import BodySizeLimit
from headrace.server.openapi import install_openapi
from headrace.server.settings import ServerSettings
from headrace.store.base import Store
from headrace.version import __version__

logger = logging.getLogger("headrace.server")


def database_location(settings: ServerSettings) -> tuple[str, str]:
    """The database URL and default artifact path the server uses.

    ``database_url`` may be a URL or a path to a SQLite file; without one, the store of
    the repository around the current directory (as every other command).
    """
    from headrace.store.factory import ARTIFACTS_DIRECTORY, store_location, user_data_directory

    raw = settings.database_url
    if raw is None:
        url, artifacts = store_location()
    elif raw.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"--database-url {raw!r} is a server; the server needs a database "
            "(sqlite:///path.db, a file path, or postgresql://...)."
        )
    elif "://" not in raw:
        path = Path(raw).expanduser().resolve()
        url, artifacts = f"sqlite:///{path}", str(path.parent / ARTIFACTS_DIRECTORY)
    elif raw.startswith("sqlite:///"):
        path = Path(raw[len("sqlite:///") :]).expanduser().resolve()
        url, artifacts = raw, str(path.parent / ARTIFACTS_DIRECTORY)
    else:
        url, artifacts = raw, str(user_data_directory() / ARTIFACTS_DIRECTORY)
    return url, settings.artifact_path or artifacts


def open_store(settings: ServerSettings) -> Store:
    """Open (and migrate) the server's database, with its default stack in place."""
    from headrace.store.sql.store import SqlStore

    url, artifacts = database_location(settings)
    store = SqlStore(url, default_artifact_path=artifacts)
    store.get_default_stack()
    return store


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """A new application serving the REST API over the settings' database."""
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = open_store(settings)
        app.state.launcher = RunLauncher(settings.max_concurrent_runs)
        logger.info("headrace server ready (database: %s)", app.state.store.url.split("://")[0])
        try:
            yield
        finally:
            app.state.launcher.close()
            app.state.store.close()
            logger.info("headrace server stopped cleanly")

    app = FastAPI(
        title="headrace",
        version=__version__,
        description="Pipelines, runs, artifacts, snapshots and models of a headrace store.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(info.health_router)
    app.include_router(api_router())
    return app
