"""Serve an app with uvicorn until SIGINT or SIGTERM, then shut down cleanly.

uvicorn handles both signals itself: it stops accepting connections, lets running
requests finish, and runs the app's shutdown (stopping the dispatcher, closing the store).
"""

from __future__ import annotations

import logging

from headrace.server.settings import ServerSettings
from headrace.server.workload.base import WorkloadManager

logger = logging.getLogger("headrace.server")


def serve(
    settings: ServerSettings,
    *,
    log_level: str = "info",
    workload_manager: WorkloadManager | None = None,
) -> None:
    """Run the server in this process until it is told to stop."""
    import warnings

    import uvicorn
    from pydantic.warnings import UnsupportedFieldAttributeWarning

    from headrace.server.app import create_app

    # FastAPI's reading of query-parameter models triggers this pydantic warning on
    # every first request of a route; it does not concern what the server does.
    warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)
    logging.basicConfig(format="%(levelname)s:     %(message)s")
    logger.setLevel(logging.INFO)

    config = uvicorn.Config(
        create_app(settings, workload_manager),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    uvicorn.Server(config).run()
