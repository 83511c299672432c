"""The driver's background thread: heartbeats, stop requests and signals.

One daemon thread per driven run, never on a step's path. It writes the run's
heartbeat every few seconds (readers end a run whose heartbeat is older than the limit,
``headrace.store.run_liveness``), reads the run's ``stop_requested`` about once a second
(``headrace pipeline runs stop`` from any process), and is woken at once when the
driver's process receives SIGINT or SIGTERM (``headrace.execution.signals``: a signal
handler must not take the scheduler's locks, so it only wakes this thread). Whatever it
learns, it passes to ``on_stop(graceful, reason)``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headrace.models import PipelineRunUpdate
from headrace.store.base import Store
from headrace.store.run_liveness import heartbeat_timeout, process_started, this_host
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()

STOP_POLL_INTERVAL_S = 1.0
HEARTBEAT_INTERVAL_S = 5.0
GRACEFUL = "graceful"
IMMEDIATE = "immediate"

OnStop = Callable[[bool, str], None]


def driver_identity() -> dict[str, Any]:
    """The fields that say which process drives a run, heartbeat included."""
    pid = os.getpid()
    return {
        "driver_host": this_host(),
        "driver_pid": pid,
        "driver_started": process_started(pid),
        "heartbeat": datetime.now(UTC),
    }


def heartbeat_interval() -> float:
    """Every 5 s, or a quarter of a shorter heartbeat limit."""
    return min(HEARTBEAT_INTERVAL_S, heartbeat_timeout() / 4)


class Heartbeat:
    """The background thread of one driven run."""

    def __init__(self, store: Store, run_id: str, on_stop: OnStop) -> None:
        self._store = store
        self._run_id = run_id
        self._on_stop = on_stop
        self._wake = threading.Event()
        self._closed = False
        self._signal: str | None = None  # set by the signal handler
        self._stop_seen: str | None = None  # the last stop request acted on
        self._interval = heartbeat_interval()
        self._thread = threading.Thread(
            target=self._loop, name=f"headrace-heartbeat-{run_id[:8]}", daemon=True
        )

    def start(self) -> None:
        """Start beating (the run's claim wrote the first heartbeat)."""
        self._thread.start()

    def signal_received(self, name: str) -> None:
        """Called from a signal handler: wake the thread, which stops the run."""
        self._signal = name
        self._wake.set()

    def close(self) -> None:
        """Stop the thread (the run ended); returns once it has."""
        self._closed = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        next_beat = self._interval
        waited = 0.0
        while not self._closed:
            poll = min(STOP_POLL_INTERVAL_S, next_beat - waited)
            self._wake.wait(max(poll, 0.0))
            self._wake.clear()
            if self._closed:
                return
            waited += poll
            try:
                if self._signal is not None:
                    signal, self._signal = self._signal, None
                    self._on_stop(False, f"the run's process received {signal}")
                if waited >= next_beat:
                    waited = 0.0
                    self._beat()
                else:
                    self._poll_stop()
            except Exception:  # a store hiccup must not end the thread: try again later
                logger.debug("Run heartbeat failed", exc_info=True)

    def _beat(self) -> None:
        run = self._store.update_run(self._run_id, PipelineRunUpdate(heartbeat=datetime.now(UTC)))
        self._check(run.stop_requested)

    def _poll_stop(self) -> None:
        # Only the one field, without committing the run's queued step records first.
        self._check(self._store.get_stop_request(self._run_id))

    def _check(self, requested: str | None) -> None:
        if requested is None or requested == self._stop_seen:
            return  # nothing new (a graceful request may still become an immediate one)
        self._stop_seen = requested
        graceful = requested == GRACEFUL
        how = "gracefully " if graceful else ""
        self._on_stop(graceful, f"the run was stopped {how}on request")
