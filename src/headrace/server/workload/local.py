"""The ``local`` workload manager: each runner is a subprocess on the server's machine.

The runner (``python -m headrace.execution.snapshot_runs RUN_ID``) runs in its own
session, so it outlives a server restart; its handle ``pid:<pid>:<start-time>`` finds
it again afterwards (the start time tells a reused pid apart). Its output goes to a file
named after the handle in the runner-logs directory
(``HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY``, default ``headrace-runner-logs`` in the
temporary directory); the server stores it as the run's runner logs once the run ended.
A runner still running after the job's ``timeout_s`` is killed with its process group
(the server then marks the run failed, naming the timeout in the logs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from headrace.exceptions import ServerConfigurationError, WorkloadManagerError
from headrace.server.workload.base import JobState, RunJob, WorkloadManager
from headrace.store.run_liveness import process_alive, process_started
from headrace.utils.env import ENV_SERVER_RUNNER_LOGS_DIRECTORY

_PREFIX = "pid:"


@dataclass
class _Child:
    """A runner this manager started (and so can reap and time out)."""

    process: subprocess.Popen[bytes]
    deadline: float | None
    timeout_s: float | None
    timed_out: bool = False


def parse_handle(handle: str) -> tuple[int, str | None]:
    """The pid and start time in a ``pid:<pid>:<start-time>`` handle."""
    parts = handle.split(":")
    if len(parts) != 3 or parts[0] + ":" != _PREFIX or not parts[1].isdigit():
        raise WorkloadManagerError(
            f"{handle!r} is not a handle of the local workload manager "
            "(expected 'pid:<pid>:<start-time>')."
        )
    return int(parts[1]), (parts[2] or None)


class LocalWorkloadManager(WorkloadManager):
    """Runners as subprocesses of the server, in their own sessions."""

    name = "local"

    def __init__(self, logs_directory: Path, python: str = sys.executable) -> None:
        self.logs_directory = logs_directory
        self.python = python
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """Reads ``HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY`` (optional)."""
        raw = environ.get(ENV_SERVER_RUNNER_LOGS_DIRECTORY, "").strip()
        directory = (
            Path(raw).expanduser()
            if raw
            else Path(tempfile.gettempdir()) / f"headrace-runner-logs-{os.getuid()}"
        )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerConfigurationError(
                f"{ENV_SERVER_RUNNER_LOGS_DIRECTORY}={raw!r}: cannot create the runner-logs "
                f"directory {str(directory)!r} ({exc})."
            ) from exc
        return cls(directory)

    def log_path(self, handle: str) -> Path:
        """Where the runner behind ``handle`` writes its output."""
        pid, started = parse_handle(handle)
        return self.logs_directory / f"runner-{pid}-{started or 'x'}.log"

    def launch(self, job: RunJob) -> str:
        environment = {**os.environ, **job.environment}
        pending = self.logs_directory / f"launching-{job.run_id}.log"
        try:
            with open(pending, "ab") as log:
                process = subprocess.Popen(
                    [self.python, *job.command],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=environment,
                    start_new_session=True,  # the run goes on if the server stops
                    cwd=os.getcwd(),
                )
        except OSError as exc:
            raise WorkloadManagerError(
                f"Could not start the runner of run {job.run_id}: {exc}"
            ) from exc
        handle = f"{_PREFIX}{process.pid}:{process_started(process.pid) or ''}"
        pending.replace(self.log_path(handle))  # the open file keeps receiving output
        deadline = time.monotonic() + job.timeout_s if job.timeout_s else None
        with self._lock:
            self._children[handle] = _Child(process, deadline, job.timeout_s)
        return handle

    def state(self, handle: str) -> JobState:
        pid, started = parse_handle(handle)
        with self._lock:
            child = self._children.get(handle)
        if child is None:  # launched before a restart, or by another server on this host
            return JobState.RUNNING if process_alive(pid, started) else JobState.UNKNOWN
        code = child.process.poll()
        if code is None:
            if child.deadline is not None and time.monotonic() > child.deadline:
                self._time_out(handle, child)
                return JobState.FAILED
            return JobState.RUNNING
        with self._lock:
            self._children.pop(handle, None)
        return JobState.SUCCEEDED if code == 0 and not child.timed_out else JobState.FAILED

    def _time_out(self, handle: str, child: _Child) -> None:
        child.timed_out = True
        with open(self.log_path(handle), "a", encoding="utf-8") as log:
            log.write(
                f"\nheadrace: the runner was killed after its timeout of {child.timeout_s:g} s "
                "(HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS).\n"
            )
        self._signal(child.process.pid, signal.SIGKILL, group=True)
        child.process.wait()
        with self._lock:
            self._children.pop(handle, None)

    def stop(self, handle: str, *, graceful: bool = True) -> None:
        """SIGTERM to the runner (it records the run ``stopped``), or SIGKILL to its
        whole process group at once."""
        pid, started = parse_handle(handle)
        if not process_alive(pid, started):
            return
        if graceful:
            self._signal(pid, signal.SIGTERM, group=False)
        else:
            self._signal(pid, signal.SIGKILL, group=True)

    @staticmethod
    def _signal(pid: int, signum: int, *, group: bool) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, signum)  # the runner leads its own session and group
            else:
                os.kill(pid, signum)

    def logs(self, handle: str) -> str:
        try:
            return self.log_path(handle).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
