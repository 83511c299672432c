"""The ``docker`` deployer: the service in a container of a local engine.

``docker run -d`` (or podman) starts ``python -m headrace.deployments.serve ID`` in the
image, publishes the service port on the host, and passes the store URL; a SQLite store
is mounted at its own path so the container opens the same file. The deployer waits
for ``/health`` to answer, then records the URL. The container's id is the handle:
``docker inspect`` says whether it still runs, ``docker logs`` shows its output,
``docker rm -f`` removes it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from headrace.deployments.deployers.base import BaseDeployer
from headrace.deployments.deployers.container import image_of, service_command
from headrace.enums import DeploymentStatus
from headrace.exceptions import DeploymentError
from headrace.models import DeploymentResponse, DeploymentUpdate
from headrace.utils.env import ENV_STORE_URL

SERVICE_PORT = 8000
_COMMAND_TIMEOUT_S = 120


def container_name(deployment: DeploymentResponse) -> str:
    """The container's name: ``headrace-<deployment name>``, made Docker-safe."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in deployment.name)
    return f"headrace-{safe}"


def run_command(
    engine: str, deployment: DeploymentResponse, image: str, store_url: str
) -> list[str]:
    """The ``docker run`` command that starts the deployment's container."""
    configuration = deployment.configuration
    port = int(configuration.get("port") or SERVICE_PORT)
    command = [
        engine,
        "run",
        "--detach",
        "--name",
        container_name(deployment),
        "--label",
        f"headrace.deployment={deployment.id}",
        "--publish",
        f"{port}:{SERVICE_PORT}",
        "--env",
        f"{ENV_STORE_URL}={store_url}",
    ]
    for key, value in sorted(dict(configuration.get("environment") or {}).items()):
        command += ["--env", f"{key}={value}"]
    if store_url.startswith("sqlite:///"):
        directory = str(Path(store_url.removeprefix("sqlite:///")).resolve().parent)
        command += ["--volume", f"{directory}:{directory}"]
    command += [str(argument) for argument in configuration.get("run_arguments") or []]
    return [*command, image, *service_command(deployment, SERVICE_PORT)]


def _engine() -> str:
    from headrace.snapshots.images import find_engine

    path, why = find_engine()
    if path is None or Path(path).name == "buildah":
        raise DeploymentError(
            f"The docker deployer needs docker or podman to run containers, but {why}."
        )
    return path


class DockerDeployer(BaseDeployer):
    """Runs each deployment's service in a container."""

    name = "docker"

    def provision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        engine = _engine()
        snapshot = self.store.get_snapshot(deployment.snapshot_id)
        store_url = str(deployment.configuration.get("store_url") or self.store.url)
        command = run_command(engine, deployment, image_of(deployment, snapshot), store_url)
        done = subprocess.run(command, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S)
        if done.returncode != 0:
            reason = f"{engine} run failed: {done.stderr.strip() or done.stdout.strip()}"
            self.mark(deployment, DeploymentStatus.FAILED, reason)
            raise DeploymentError(f"Deployment {deployment.name!r} could not start: {reason}")
        port = int(deployment.configuration.get("port") or SERVICE_PORT)
        url = f"http://127.0.0.1:{port}"
        handle = {"engine": engine, "container": done.stdout.strip(), "command": command}
        current = self.records.update_deployment(deployment.id, DeploymentUpdate(handle=handle))
        return self._wait(
            current, url, float(deployment.configuration.get("startup_timeout_s", 120))
        )

    def _wait(self, deployment: DeploymentResponse, url: str, timeout: float) -> DeploymentResponse:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._running(deployment):
                reason = "the container exited"
                self.mark(deployment, DeploymentStatus.FAILED, reason)
                tail = "\n".join(list(self.logs(deployment))[-20:])
                raise DeploymentError(f"Deployment {deployment.name!r}: {reason}.\n{tail}")
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    return self.records.update_deployment(
                        deployment.id,
                        DeploymentUpdate(status=DeploymentStatus.RUNNING, url=url),
                    )
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        reason = f"the service did not answer at {url} within {timeout:g} s"
        self.mark(deployment, DeploymentStatus.FAILED, reason)
        raise DeploymentError(f"Deployment {deployment.name!r} could not start: {reason}.")

    def _running(self, deployment: DeploymentResponse) -> bool:
        handle = deployment.handle
        done = subprocess.run(
            [handle["engine"], "inspect", "--format", "{{.State.Running}}", handle["container"]],
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT_S,
        )
        return done.returncode == 0 and done.stdout.strip().lower() == "true"

    def refresh(self, deployment: DeploymentResponse) -> DeploymentResponse:
        if (
            deployment.status is not DeploymentStatus.RUNNING
            or "container" not in deployment.handle
        ):
            return deployment
        if self._running(deployment):
            return deployment
        return self.mark(deployment, DeploymentStatus.FAILED, "the container is not running")

    def deprovision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        handle = deployment.handle
        if "container" in handle:
            subprocess.run(
                [handle["engine"], "rm", "--force", handle["container"]],
                capture_output=True,
                timeout=_COMMAND_TIMEOUT_S,
            )
        return self.mark(deployment, DeploymentStatus.STOPPED, "deprovisioned")

    def logs(self, deployment: DeploymentResponse, follow: bool = False) -> Iterator[str]:
        handle = deployment.handle
        if "container" not in handle:
            return
        command = [handle["engine"], "logs", *(["--follow"] if follow else []), handle["container"]]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                yield line.rstrip("\n")
