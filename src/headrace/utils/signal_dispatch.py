"""The process's one handler for SIGINT and SIGTERM, reaching every run it drives.

Python runs signal handlers in the main thread only, and only the main thread may
install them, while runs may be driven from any thread. So the handler lives here, below
every layer: ``@pipeline`` arms it (``arm()``) when a pipeline is defined on the main
thread, and a run starting on the main thread installs it again if someone replaced it.
The handler chains the one it replaced; while no run is active it hands every signal
straight to it, so the process behaves exactly as without headrace. What a signal does
to a run is ``headrace.execution.signals``' business (the ``ActiveRun`` side).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol


class ActiveRun(Protocol):
    """A run the process drives, as the handler sees it."""

    received: int | None
    on_main_thread: bool
    ended: threading.Event

    def receive(self, number: int) -> None:
        """The run's first signal notifies it."""


def _no_interrupt() -> None:
    """Until execution.signals is imported no run is active, so nothing is interrupted."""


_SIGNALS = (signal.SIGINT, signal.SIGTERM)
END_WAIT_S = 30.0  # how long a signal waits for the runs of other threads to end


class _Dispatcher:
    """The process's one handler for SIGINT and SIGTERM (module singleton)."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.runs: list[ActiveRun] = []
        self.wakeups = 0  # SIGINTs sent by interrupt_main_thread, not yet handled
        self.lock = threading.Lock()  # guards ``runs`` (never taken in the handler)
        # Raises StepInterruptedError in this thread if it runs a step (set by
        # headrace.execution.signals, which the layers keep out of reach of this module).
        self.interrupt_here: Callable[[], None] = _no_interrupt

    def install(self) -> bool:
        """Install the handler on the main thread (where not ours already); returns
        whether it is in place for SIGINT or SIGTERM."""
        if threading.current_thread() is not threading.main_thread():
            return self.installed()
        for number in _SIGNALS:
            try:
                current = signal.getsignal(number)
                if current == self.handle:
                    continue
                if current == signal.SIG_IGN and number != signal.SIGINT:
                    continue  # ignored by this process: it stays ignored
                signal.signal(number, self.handle)
            except (ValueError, OSError):  # not the main interpreter
                continue
            # An ignored SIGINT still carries interrupt_main_thread's wake-ups.
            self.previous[number] = current
        return self.installed()

    def installed(self) -> bool:
        try:
            return any(signal.getsignal(number) == self.handle for number in _SIGNALS)
        except (ValueError, OSError):
            return False

    def add(self, run: ActiveRun) -> None:
        with self.lock:
            self.runs.append(run)

    def remove(self, run: ActiveRun) -> None:
        with self.lock:
            if run in self.runs:
                self.runs.remove(run)

    def handle(self, number: int, frame: FrameType | None) -> None:
        if number == signal.SIGINT and self.wakeups > 0:
            self.wakeups -= 1  # sent by interrupt_main_thread: a stop, not a Ctrl-C
            self.interrupt_here()
            return
        previous = self.previous.get(number, signal.SIG_DFL)
        if previous == signal.SIG_IGN:
            return
        runs = list(self.runs)  # a copy without the lock: the handler takes none
        if not runs:
            chain(previous, number, frame)
            return
        if number == signal.SIGINT and any(run.received is not None for run in runs):
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting
        for run in runs:
            run.receive(number)
        if any(run.on_main_thread for run in runs):
            self.interrupt_here()  # that run acts on the signal once it ended
            return
        wait_for_runs_to_end(END_WAIT_S)
        chain(previous, number, frame)


dispatcher = _Dispatcher()


def arm() -> None:
    """Install the process-wide handler if this is the main thread (cheap; idempotent),
    so runs later driven from other threads are stopped by signals too."""
    if threading.current_thread() is threading.main_thread():
        dispatcher.install()


def wait_for_runs_to_end(timeout: float, but: ActiveRun | None = None) -> None:
    """Wait (at most ``timeout`` seconds) until the active runs, ``but`` one, ended."""
    deadline = time.monotonic() + timeout
    for run in list(dispatcher.runs):
        if run is not but:
            run.ended.wait(max(0.0, deadline - time.monotonic()))


def chain(previous: Any, number: int, frame: FrameType | None) -> None:
    """Do what ``previous`` (the handler headrace's replaced) does with the signal."""
    if previous == signal.SIG_IGN:
        return
    if callable(previous):
        previous(number, frame)
        return
    # SIG_DFL, or a handler not installed from Python: the default action (for SIGINT
    # and SIGTERM: end the process by the signal).
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
