"""The application factory: ``create_app(settings)`` builds a new FastAPI app.

Nothing lives at module level: the store, the workload manager, the run dispatcher and
the scheduler (which fires due schedules, ``scheduler_loop.py``) are opened when the app
starts (its lifespan) and closed when it stops, and kept on ``app.state`` for the
dependencies in ``deps.py``. Two apps in one process share nothing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from headrace.exceptions import ConfigurationError
from headrace.models.schedule import ScheduleResponse
from headrace.server.api.v1 import api_router, info
from headrace.server.auth import Authenticator, LoginLimiter, TokenIssuer, load_or_create_secret
from headrace.server.auth.bootstrap import ensure_first_admin, first_admin_banner
from headrace.server.dashboard import install_dashboard
from headrace.server.errors import install_error_handlers
from headrace.server.limits import BodySizeLimit
from headrace.server.openapi import install_openapi
from headrace.server.scheduler_loop import SchedulerLoop, Trigger, poll_interval
from headrace.server.settings import ServerSettings
from headrace.server.workload.base import WorkloadManager
from headrace.store.base import CredentialStore, SchedulerStore, Store
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


def data_directory(settings: ServerSettings) -> Path:
    """Where the server keeps its own files (the token signing secret): beside a SQLite
    database, else in the user data directory."""
    from headrace.store.factory import user_data_directory
    from headrace.store.sql.database import sqlite_path

    url, _ = database_location(settings)
    path = sqlite_path(url) if url.startswith("sqlite") else None
    return Path(path).resolve().parent if path else user_data_directory()


def open_authenticator(settings: ServerSettings, store: Store) -> Authenticator:
    """The login and token checks over ``store``; creates the first admin at the first
    start, and prints its one-time password if one was generated."""
    if not isinstance(store, CredentialStore):  # pragma: no cover - open_store makes SQL
        raise ConfigurationError("The server's store cannot check credentials.")
    password = ensure_first_admin(store)
    if password is not None:
        print(first_admin_banner(password), file=sys.stderr, flush=True)
    issuer = TokenIssuer(load_or_create_secret(data_directory(settings)))
    return Authenticator(store, issuer, LoginLimiter.from_environment(store))


def schedule_trigger(store: Store, settings: ServerSettings, wake: Callable[[], None]) -> Trigger:
    """What a schedule's fire does: queue a run of its snapshot with its run configuration
    (the same queue as a REST trigger, source ``schedule``), and note on the run which
    schedule and fire time made it (run metadata ``schedule_id``, ``schedule_fire_time``).
    A full queue refuses the fire like any trigger; the scheduler logs it and goes on.
    """
    from headrace.enums import MetadataResourceType
    from headrace.server.run_queue import enqueue_snapshot_run

    def trigger(schedule: ScheduleResponse) -> None:
        snapshot = store.get_snapshot(schedule.snapshot_id)
        run = enqueue_snapshot_run(
            store,
            snapshot,
            schedule.run_configuration,
            source="schedule",
            schedule_id=schedule.id,
            max_queued=settings.max_queued_runs,
        )
        fire_time = schedule.last_run_time.isoformat() if schedule.last_run_time else None
        store.add_run_metadata(
            MetadataResourceType.PIPELINE_RUN,
            run.id,
            {"schedule_id": schedule.id, "schedule_fire_time": fire_time},
        )
        wake()

    return trigger


def open_scheduler(
    store: Store, settings: ServerSettings, wake: Callable[[], None]
) -> SchedulerLoop:
    """The scheduler thread of this server, started."""
    if not isinstance(store, SchedulerStore):  # pragma: no cover - open_store makes SQL
        raise ConfigurationError("The server's store cannot fire schedules.")
    return SchedulerLoop(store, schedule_trigger(store, settings, wake), poll_interval()).start()


def create_app(
    settings: ServerSettings | None = None, workload_manager: WorkloadManager | None = None
) -> FastAPI:
    """A new application serving the REST API over the settings' database, and the
    dashboard at ``/``.

    ``workload_manager`` launches the queued runs (default: the one
    ``HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE`` names, ``local``).
    """
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from headrace.server.dispatcher import Dispatcher
        from headrace.server.workload.registry import load_workload_manager

        manager = workload_manager or load_workload_manager()
        app.state.workload_manager = manager
        app.state.store = open_store(settings)
        app.state.authenticator = open_authenticator(settings, app.state.store)
        app.state.dispatcher = Dispatcher(
            app.state.store,
            manager,
            max_in_flight=settings.max_concurrent_runs,
            runner_timeout_s=settings.runner_timeout_s,
        )
        app.state.dispatcher.start()
        app.state.scheduler = open_scheduler(app.state.store, settings, app.state.dispatcher.wake)
        logger.info(
            "headrace server ready (database: %s, workload manager: %s, %d runs at once)",
            app.state.store.url.split("://")[0],
            manager.name,
            settings.max_concurrent_runs,
        )
        try:
            yield
        finally:
            app.state.scheduler.close()
            app.state.dispatcher.close()
            manager.close()
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
    install_dashboard(app)
    return app
