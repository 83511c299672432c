"""The ``local`` deployer: the service as a background process on this machine.

The process (``python -m headrace.deployments.serve ID --record``) runs in its own
session, so it outlives the command that deployed it; its output goes to a log file
beside the stack's artifacts. It records its URL and ``running`` once it listens;
``provision`` waits for that (or for the process to die, then the log's last lines say
why). The record keeps the process id and its start time, so a service that crashed or
was killed is reported ``failed`` the next time anyone reads the deployment, and a
reused process id is never mistaken for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from headrace.deployments.deployers.base import BaseDeployer
from headrace.enums import DeploymentStatus
from headrace.exceptions import DeploymentError
from headrace.models import DeploymentResponse, DeploymentUpdate
from headrace.store.run_liveness import process_alive, process_started
from headrace.utils.env import ENV_STORE_URL

_STOP_TIMEOUT_S = 10.0
_POLL_S = 0.05
_LOG_TAIL_LINES = 20


class LocalDeployer(BaseDeployer):
    """Runs each deployment's service as a local background process."""

    name = "local"

    def provision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        configuration = deployment.configuration
        log_path = self._log_path(deployment)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        environment[ENV_STORE_URL] = self.store.url
        command = [
            sys.executable,
            "-m",
            "headrace.deployments.serve",
            deployment.id,
            "--host",
            str(configuration.get("host") or "127.0.0.1"),
            "--port",
            str(configuration.get("port") or 0),
            "--record",
        ]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,  # the service outlives the deploying command
                cwd=os.getcwd(),
            )
        handle = {
            "pid": process.pid,
            "started": process_started(process.pid),
            "log": str(log_path),
            "command": command,
        }
        self.records.update_deployment(deployment.id, DeploymentUpdate(handle=handle))
        return self._wait(deployment, process, float(configuration.get("startup_timeout_s", 120)))

    def _wait(
        self, deployment: DeploymentResponse, process: subprocess.Popen[bytes], timeout: float
    ) -> DeploymentResponse:
        deadline = time.monotonic() + timeout
        while True:
            current = self.records.get_deployment(deployment.id)
            if current.status is DeploymentStatus.RUNNING:
                return current
            code = process.poll()
            if code is not None or current.status is DeploymentStatus.FAILED:
                tail = "\n".join(list(self.logs(current))[-_LOG_TAIL_LINES:])
                reason = current.status_reason or f"the service exited with code {code}"
                failed = self.mark(current, DeploymentStatus.FAILED, reason)
                raise DeploymentError(
                    f"Deployment {failed.name!r} could not start: {reason}.\n{tail}"
                )
            if time.monotonic() > deadline:
                self._stop(process.pid, current.handle.get("started"))
                reason = f"the service did not answer within {timeout:g} s"
                self.mark(current, DeploymentStatus.FAILED, reason)
                raise DeploymentError(
                    f"Deployment {current.name!r} could not start: {reason} "
                    "(raise the deployer's startup_timeout_s)."
                )
            time.sleep(_POLL_S)

    def refresh(self, deployment: DeploymentResponse) -> DeploymentResponse:
        if deployment.status not in (DeploymentStatus.RUNNING, DeploymentStatus.PENDING):
            return deployment
        pid = deployment.handle.get("pid")
        if pid is None:
            return deployment
        if process_alive(int(pid), deployment.handle.get("started")):
            return deployment
        return self.mark(
            deployment,
            DeploymentStatus.FAILED,
            f"the service process (pid {pid}) is gone: it crashed or was killed",
        )

    def deprovision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        pid = deployment.handle.get("pid")
        if pid is not None:
            self._stop(int(pid), deployment.handle.get("started"))
        if deployment.status is DeploymentStatus.FAILED:
            return deployment
        return self.mark(deployment, DeploymentStatus.STOPPED, "deprovisioned")

    def logs(self, deployment: DeploymentResponse, follow: bool = False) -> Iterator[str]:
        path = deployment.handle.get("log")
        if not path or not Path(path).exists():
            return
        pid = deployment.handle.get("pid")
        started = deployment.handle.get("started")
        with open(path, encoding="utf-8", errors="replace") as handle:
            while True:
                line = handle.readline()
                if line:
                    yield line.rstrip("\n")
                    continue
                if not follow or pid is None or not process_alive(int(pid), started):
                    return
                time.sleep(0.2)

    @staticmethod
    def _stop(pid: int, started: str | None) -> None:
        """SIGTERM (the service finishes the invocations it serves), then SIGKILL."""
        if not process_alive(pid, started):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not process_alive(pid, started):
                return
            time.sleep(_POLL_S)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    def _log_path(self, deployment: DeploymentResponse) -> Path:
        from headrace.artifacts.loading import artifact_store_of

        root = Path(artifact_store_of(self.store, deployment.stack_id).path)
        if not root.is_absolute():  # an object store: logs stay on this machine
            root = Path(tempfile.gettempdir()) / "headrace"
        return root / "deployments" / f"{deployment.name}-{deployment.id[:8]}.log"
