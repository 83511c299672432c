"""Whether the process driving a run is still there: how readers end orphaned runs.

No daemon watches runs. The driver records who it is (host, pid, the process's start
time) and heartbeats into the store (``headrace.execution.heartbeat``); whoever reads a
run that has not ended (the Client, the CLI, the server: all through the store) asks
``driver_gone`` and, when it says why, the store marks the run and its running steps
``failed`` with that reason.

A driver is gone when:

- it ran in this process and no longer drives the run here (it ended without recording
  the end, for instance because the store refused the write);
- it ran on this host and its process no longer exists, is a zombie, or its pid now
  belongs to a process that started later (pid reuse);
- its last heartbeat (or, before any, the run's creation) is older than the limit
  (``HEADRACE_RUN_HEARTBEAT_TIMEOUT`` seconds, 60 by default): the only test possible
  for a driver on another host.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime
from functools import lru_cache

from headrace.utils.env import ENV_RUN_HEARTBEAT_TIMEOUT

DEFAULT_HEARTBEAT_TIMEOUT_S = 60.0

_lock = threading.Lock()
_driving: set[str] = set()  # runs this process drives right now


def heartbeat_timeout() -> float:
    """``HEADRACE_RUN_HEARTBEAT_TIMEOUT`` in seconds, else 60."""
    value = os.environ.get(ENV_RUN_HEARTBEAT_TIMEOUT)
    if not value:
        return DEFAULT_HEARTBEAT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(
            f"{ENV_RUN_HEARTBEAT_TIMEOUT}={value!r}: expected a number of seconds."
        ) from None
    if not seconds > 0:
        raise ValueError(f"{ENV_RUN_HEARTBEAT_TIMEOUT}={value!r}: must be more than 0 seconds.")
    return seconds


@lru_cache(maxsize=1)
def this_host() -> str:
    """The name drivers on this machine record."""
    return socket.gethostname()


def process_started(pid: int) -> str | None:
    """When ``pid`` started, as an opaque token (Linux: clock ticks after boot); ``None``
    where it cannot be read cheaply, or when the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its end.
    fields = text[text.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    return fields[0].decode() if fields else None


def process_alive(pid: int, started: str | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    except OSError:
        return False
    if _process_state(pid) in ("Z", "X"):  # killed, waiting for its parent to reap it
        return False
    if started is not None:
        now_started = process_started(pid)
        if now_started is not None and now_started != started:
            return False  # the pid was reused by a later process
    return True


def start_driving(run_id: str) -> None:
    """This process drives ``run_id`` from now on."""
    with _lock:
        _driving.add(run_id)


def stop_driving(run_id: str) -> None:
    """This process no longer drives ``run_id`` (it ended, recorded or not)."""
    with _lock:
        _driving.discard(run_id)


def driving_here(run_id: str) -> bool:
    """Whether this process drives ``run_id`` now."""
    return run_id in _driving


def driver_gone(
    run_id: str,
    running: bool,
    host: str | None,
    pid: int | None,
    started: str | None,
    heartbeat: datetime | None,
    created: datetime,
    now: datetime,
) -> str | None:
    """Why the driver of an unended run is gone, or ``None`` while it may still drive it.

    ``running``: the driver has claimed the run (a run still initializing may be waiting
    for a runner process that has not started yet).
    """
    if host is not None and pid is not None and host == this_host():
        if pid == os.getpid():
            if driving_here(run_id):
                return None
            if running:
                return "its driver (this process) stopped driving it without recording its end"
        elif not process_alive(pid, started):
            return f"its driver process (pid {pid} on {host}) is gone"
    limit = heartbeat_timeout()
    last = heartbeat or created
    if (now - last).total_seconds() > limit:
        where = f" (pid {pid} on {host})" if pid is not None else ""
        return f"its driver{where} sent no heartbeat for more than {limit:g} s"
    return None
