"""Starts the runner processes of triggered runs, a bounded number at a time.

A trigger records its run and hands it here; the answer does not wait for the runner
to start. Runner processes run in their own sessions and outlive the server; this
class only decides when each one starts, so a burst of triggers does not start
hundreds of Python processes at once on a small machine.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import threading
from datetime import UTC, datetime

from headrace.enums import ExecutionStatus
from headrace.execution.snapshot_runs import spawn_runner
from headrace.models import PipelineRunResponse, PipelineRunUpdate
from headrace.store.base import Store

logger = logging.getLogger("headrace.server")

_POLL_SECONDS = 0.05


class RunLauncher:
    """Starts runner processes from a queue, at most ``max_running`` alive at once."""

    def __init__(self, max_running: int) -> None:
        self.max_running = max(1, max_running)
        self._queue: queue.Queue[tuple[Store, PipelineRunResponse] | None] = queue.Queue()
        self._running: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headrace-launcher", daemon=True)
        self._thread.start()

    def submit(self, store: Store, run: PipelineRunResponse) -> None:
        """Start ``run``'s runner as soon as a slot is free."""
        self._queue.put((store, run))

    @property
    def pending(self) -> int:
        """Runs waiting for a slot."""
        return self._queue.qsize()

    def close(self, timeout: float = 5.0) -> None:
        """Stop starting runners; runners already started go on by themselves."""
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            self._wait_for_slot()
            if self._stopping.is_set():
                return
            store, run = item
            try:
                self._running.append(spawn_runner(store, run))
            except Exception as exc:  # the run must end, not wait forever
                logger.exception("Could not start the runner of run %s", run.id)
                _fail(store, run, exc)

    def _wait_for_slot(self) -> None:
        while not self._stopping.is_set():
            self._running = [p for p in self._running if p.poll() is None]
            if len(self._running) < self.max_running:
                return
            self._stopping.wait(_POLL_SECONDS)


def _fail(store: Store, run: PipelineRunResponse, exc: Exception) -> None:
    try:
        store.update_run(
            run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.FAILED,
                end_time=datetime.now(UTC),
                status_reason=f"The runner could not start: {type(exc).__name__}: {exc}",
            ),
        )
    except Exception:
        logger.exception("Could not record that run %s failed to start", run.id)
