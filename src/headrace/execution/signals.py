"""SIGINT and SIGTERM end a run as ``stopped``, then act as they would have.

While a run is driven from the main thread, handlers replace the process's own: the
first signal asks the run's background thread (``headrace.execution.heartbeat``) to stop
the run without waiting for running steps (a handler may not take the scheduler's
locks: the code it interrupted may hold them), and interrupts a step running in the
main thread at once. Running steps end ``stopped``, steps not started are skipped,
completed steps and their artifacts are kept, and the run ends ``stopped``. Then the
previous handlers come back and the signal does what it did before: SIGINT raises
``KeyboardInterrupt``, SIGTERM ends the process (or calls the handler that was there).
A second SIGINT while stopping raises ``KeyboardInterrupt`` at once; the launcher still
records the run's end on its way out.

Runs driven from other threads install nothing (Python delivers signals to the main
thread only); their driver's death is noticed by readers through the heartbeat.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from headrace.execution.interrupts import interrupt_this_thread

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop:
    """Signal handlers for the time one run is driven."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        """``notify(signal name)`` is called from the handler; it must not block."""
        self._notify = notify
        self._previous: dict[int, Any] = {}
        self._restored: dict[int, Any] = {}
        self.received: int | None = None
        self._wakeups = 0  # SIGINTs sent by interrupt_main_thread, not yet handled
        self._ignored: set[int] = set()

    def install(self) -> bool:
        """Install the handlers if this is the main thread; returns whether it did."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for number in _SIGNALS:
            if signal.getsignal(number) == signal.SIG_IGN:
                # Ignored by this process (a background job): it stays ignored, but
                # SIGINT still carries interrupt_main_thread's wake-ups.
                if number != signal.SIGINT:
                    continue
                self._ignored.add(number)
            try:
                self._previous[number] = signal.signal(number, self._handle)
            except (ValueError, OSError):  # not the main interpreter
                continue
        return bool(self._previous)

    def interrupt_main_thread(self) -> None:
        """From another thread: interrupt a step running in the main thread now, even
        inside a blocking call (an asynchronous exception would wait for it to return).
        Sends this process's main thread a SIGINT that the handler knows is ours."""
        if signal.SIGINT not in self._previous:
            return
        self._wakeups += 1
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if number == signal.SIGINT and self._wakeups > 0:
            self._wakeups -= 1  # sent by interrupt_main_thread: a stop, not a Ctrl-C
            interrupt_this_thread()
            return
        if number in self._ignored:
            return
        if self.received is not None and number == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting
        if self.received is None:
            self.received = number
            self._notify(signal.Signals(number).name)
        interrupt_this_thread()

    def restore(self) -> None:
        """Put the previous handlers back."""
        for number, previous in self._previous.items():
            try:
                signal.signal(number, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                continue
        self._restored, self._previous = self._previous, {}

    def act(self) -> None:
        """After the run ended: do what the received signal would have done."""
        number = self.received
        if number is None:
            return
        previous = self._restored.get(number, signal.SIG_DFL)
        if number == signal.SIGINT and previous in (signal.default_int_handler, signal.SIG_DFL):
            raise KeyboardInterrupt
        if previous == signal.SIG_DFL or previous is None:
            os.kill(os.getpid(), number)  # the default action: end the process
            return
        if callable(previous):
            previous(number, None)
