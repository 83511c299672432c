"""The ``local`` workload manager: each runner is a subprocess on the server's machine.

The runner (``python -m headrace.execution.snapshot_runs RUN_ID``) runs in its own
session, so it outlives a server restart; its handle ``pid:<pid>:<start-time>`` finds
it again afterwards (the start time tells a reused pid apart). Its output goes to a file
named after the handle in the runner-logs directory
(``HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY``, default ``headrace-runner-logs`` in the
temporary directory); while the run runs, the launching server copies new output into
the store about once a second (so every server sharing the database can serve it), and
it stores all of it as the run's runner logs once the run ended.
A runner still running after the job's ``timeout_s`` is killed with its process group
(the server then marks the run failed, naming the timeout in the logs).

Start-up: importing headrace is most of what a fresh runner does before its first step,
so the manager keeps one runner started ahead of time (``warm_runner``: imported, waiting
on stdin for its run) and hands the next run to it, then starts the next spare.
"""

from __future__ import annotations

import contextlib
import json
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
from typing import Any, Self

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

    def __init__(
        self, logs_directory: Path, python: str = sys.executable, *, warm: bool = True
    ) -> None:
        self.logs_directory = logs_directory
        self.python = python
        self.warm = warm
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        self._spare: tuple[subprocess.Popen[bytes], Path] | None = None
        self._spares = 0

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
        started = self._take_warm(job) if self.warm else None
        if started is None:
            started = self._start_cold(job)
        process, log_file = started
        handle = f"{_PREFIX}{process.pid}:{process_started(process.pid) or ''}"
        log_file.replace(self.log_path(handle))  # the open file keeps receiving output
        deadline = time.monotonic() + job.timeout_s if job.timeout_s else None
        with self._lock:
            self._children[handle] = _Child(process, deadline, job.timeout_s)
        if self.warm:
            self._prepare_warm()  # the next run finds one waiting
        return handle

    def _popen(
        self, arguments: list[str], log_file: Path, **options: Any
    ) -> subprocess.Popen[bytes]:
        with open(log_file, "ab") as log:
            return subprocess.Popen(
                [self.python, *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the run goes on if the server stops
                cwd=os.getcwd(),
                **options,
            )

    def _start_cold(self, job: RunJob) -> tuple[subprocess.Popen[bytes], Path]:
        log_file = self.logs_directory / f"launching-{job.run_id}.log"
        try:
            process = self._popen(
                list(job.command),
                log_file,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **job.environment},
            )
        except OSError as exc:
            raise WorkloadManagerError(
                f"Could not start the runner of run {job.run_id}: {exc}"
            ) from exc
        return process, log_file

    def _prepare_warm(self) -> None:
        """Start a runner that imports headrace now and waits for its run."""
        with self._lock:
            if self._spare is not None and self._spare[0].poll() is None:
                return
            self._spares += 1
            log_file = self.logs_directory / f"warm-{os.getpid()}-{self._spares}.log"
        try:
            process = self._popen(
                ["-m", "headrace.server.workload.warm_runner"], log_file, stdin=subprocess.PIPE
            )
        except OSError:
            return  # runs start cold, as without a warm runner
        with self._lock:
            self._spare = (process, log_file)

    def _take_warm(self, job: RunJob) -> tuple[subprocess.Popen[bytes], Path] | None:
        """Hand ``job`` to the waiting runner, if it is the snapshot runner's command."""
        if tuple(job.command[:2]) != ("-m", "headrace.execution.snapshot_runs"):
            return None
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is None or spare[0].poll() is not None or spare[0].stdin is None:
            return None
        process, log_file = spare
        request = {"environment": dict(job.environment), "run_id": job.command[2]}
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())  # type: ignore[union-attr]
            process.stdin.close()  # type: ignore[union-attr]
        except OSError:
            return None
        return process, log_file

    def close(self) -> None:
        """End the waiting runner (it holds no run); launched runners go on."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare[0].poll() is None:
            spare[0].kill()
            spare[0].wait()
            with contextlib.suppress(OSError):
                spare[1].unlink()

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

    def local_output(self, handle: str, start: int, limit: int) -> bytes | None:
        # A file on this machine: other servers read the copies the dispatcher keeps.
        try:
            with open(self.log_path(handle), "rb") as log:
                log.seek(start)
                return log.read(limit)
        except OSError:
            return b""
