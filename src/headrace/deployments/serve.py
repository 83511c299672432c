"""The service process: ``python -m headrace.deployments.serve DEPLOYMENT_ID``.

Reads the deployment and its snapshot from the store (``HEADRACE_STORE_URL``), unpacks
the snapshot's code archive and imports from it (never from a working tree), warms the
pipeline up (``on_init``), listens, and, with ``--record``, writes its URL and the
``running`` status into the deployment's record once it listens (the local deployer
waits for that). A service that cannot start records why (``failed``) and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from headrace.enums import DeploymentStatus
from headrace.models import DeploymentResponse, DeploymentUpdate, SnapshotResponse
from headrace.store.base import DeploymentStore, Store
from headrace.utils.env import ENV_SOURCE_ROOT, env_number

logger = logging.getLogger("headrace.deployment")


def import_snapshot_code(store: Store, snapshot: SnapshotResponse) -> Path:
    """Unpack the snapshot's code archive (cached by digest) and import from it first."""
    from headrace.artifacts.loading import artifact_store_of
    from headrace.snapshots.code_cache import default_code_cache, extract_code

    artifact_store = artifact_store_of(store, snapshot.stack_id)
    directory = extract_code(
        snapshot.extra["code"], artifact_store, default_code_cache(artifact_store)
    )
    os.environ[ENV_SOURCE_ROOT] = str(directory)
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    return directory


def service_options(deployment: DeploymentResponse) -> dict[str, Any]:
    """Threads, body limit and tracking of ``deployment`` (its configuration's values)."""
    configuration = deployment.configuration
    return {
        "threads": int(configuration.get("threads", 8)),
        "max_request_bytes": int(configuration.get("max_request_bytes", 1_048_576)),
        "tracking": bool(configuration.get("tracking", True)),
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The URL clients use for a service listening on ``sock``."""
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = "[::1]" if shown == "::" else (f"[{shown}]" if ":" in shown else shown)
    return f"http://{shown}:{port}"


def serve(store: Store, deployment_id: str, host: str, port: int, record: bool) -> int:
    """Run the service until it is told to stop; returns the exit code."""
    import uvicorn

    from headrace.deployments.auth import (
        DEFAULT_TOKEN_CACHE_SECONDS,
        ENV_SERVER_URL,
        ENV_TOKEN_CACHE_SECONDS,
        Authenticator,
    )
    from headrace.deployments.runtime import DeploymentRuntime
    from headrace.deployments.service import ServiceSettings, create_app

    assert isinstance(store, DeploymentStore)
    deployment = store.get_deployment(deployment_id)
    options = service_options(deployment)
    try:
        snapshot = store.get_snapshot(deployment.snapshot_id)
        import_snapshot_code(store, snapshot)
        runtime = DeploymentRuntime(store, snapshot, tracking=options["tracking"])
        sock = bind(host, port)
    except Exception as exc:
        logger.exception("Deployment %s could not start", deployment.name)
        if record:
            store.update_deployment(
                deployment.id,
                DeploymentUpdate(
                    status=DeploymentStatus.FAILED,
                    status_reason=f"the service could not start: {type(exc).__name__}: {exc}",
                ),
            )
        return 1
    server_url = os.environ.get(ENV_SERVER_URL) or (
        store.url if store.url.startswith(("http://", "https://")) else None
    )
    cache_seconds = env_number(ENV_TOKEN_CACHE_SECONDS, DEFAULT_TOKEN_CACHE_SECONDS)
    authenticator = Authenticator(deployment.auth_key_hash, server_url, cache_seconds)
    settings = ServiceSettings(
        name=deployment.name,
        threads=options["threads"],
        max_request_bytes=options["max_request_bytes"],
    )
    app = create_app(runtime, settings, authenticator)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    if record:
        url = url_of(sock, host)
        store.update_deployment(
            deployment.id,
            DeploymentUpdate(status=DeploymentStatus.RUNNING, url=url, status_reason=None),
        )
        logger.info("Deployment %s listens on %s", deployment.name, url)
    server.run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the service process."""
    from headrace.store.factory import get_store

    parser = argparse.ArgumentParser(prog="python -m headrace.deployments.serve")
    parser.add_argument("deployment_id")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--record", action="store_true", help="write the URL and status into the store"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return serve(get_store(), args.deployment_id, args.host, args.port, args.record)


if __name__ == "__main__":
    sys.exit(main())
