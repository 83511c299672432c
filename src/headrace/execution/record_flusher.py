"""Writes step runners' deferred "running" records once a step has run for a while.

A step's "running" record waits in its runner (``StepRunner.defer_start_records``) and
is written in one transaction with the step's completion, so a short step costs one
store transaction instead of two. A step that runs longer than ``INTERVAL_S`` still
shows as running: one daemon thread per process writes the records that old. Processes
that run step tasks one after another (a Ray worker, a process-mode worker, a pod)
share that thread instead of starting one per step.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.execution.step_runner import StepRunner

logger = headrace_logger()

# Longer than the driver's own flusher (``run_steps._Flusher``, 0.05 s): the driver
# already shows a step as started when it hands it over; the store's "running" record of
# a step in another process is for whoever looks later, and on a loaded machine a short
# step's body can take 50 ms of wall time.
INTERVAL_S = 0.2


class RecordFlusher:
    """One background thread flushing the records of the runners it watches."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._runners: set[StepRunner] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, runner: StepRunner) -> None:
        """Flush ``runner``'s records once they are ``interval_s`` old, until forgotten."""
        with self._changed:
            self._runners.add(runner)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="headrace-record-flusher", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def forget(self, runner: StepRunner) -> None:
        """Stop watching ``runner`` (its owner flushes what is left)."""
        with self._changed:
            self._runners.discard(runner)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._runners:  # idle: sleep until a runner is watched
                    self._changed.wait()
            time.sleep(self.interval_s)
            with self._changed:
                runners = list(self._runners)
            for runner in runners:
                try:
                    runner.flush(older_than=self.interval_s)
                except Exception:  # the step's completion writes them instead
                    logger.debug("Deferred step records not written yet", exc_info=True)


_shared = RecordFlusher()


def shared_flusher() -> RecordFlusher:
    """The process's flusher."""
    return _shared
