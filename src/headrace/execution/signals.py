"""SIGINT and SIGTERM end every run the process drives as ``stopped``, then act as they
would have.

Python runs signal handlers in the main thread only, and only the main thread may
install them. So one process-wide handler (``headrace.utils.signal_dispatch``) reaches
every active run, whichever thread drives it. It is installed on the main thread,
chaining the handler it replaced, when a run starts there and as soon as a pipeline is
defined there (``arm()``, called by ``@pipeline``), so a run a script later drives from
a worker thread is covered too. While no run is active, it hands the signal straight to the
previous handler: the process behaves exactly as without headrace.

While runs are active, the first signal asks each run's background thread
(``headrace.execution.heartbeat``) to stop its run without waiting for running steps (a
handler may not take the scheduler's locks: the code it interrupted may hold them), and
interrupts a step running in the main thread at once. Running steps end ``stopped``,
steps not started are skipped, completed steps and their artifacts are kept, and the
runs end ``stopped``. Then the signal does what it did before: SIGINT raises
``KeyboardInterrupt``, SIGTERM ends the process (or calls the handler that was there).
Who does that: a run driven from the main thread, on its way out (``act()``); when only
other threads drive runs, the handler itself, once they ended. Either way it first
waits (at most ``END_WAIT_S``) for the other threads' runs to record their end.
A second SIGINT while stopping raises ``KeyboardInterrupt`` at once; the launcher still
records the run's end on its way out.

A signal the process ignores (``SIG_IGN``, a background job) stays ignored. A handler
someone installs after headrace's replaces it until the next run starts on the main
thread, which installs headrace's again, chaining that one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

from headrace.execution.interrupts import interrupt_this_thread
from headrace.utils.signal_dispatch import END_WAIT_S, chain, dispatcher, wait_for_runs_to_end

dispatcher.interrupt_here = interrupt_this_thread


class SignalStop:
    """One driven run's part in the process's signal handling."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        """``notify(signal name)`` is called from the handler; it must not block."""
        self._notify = notify
        self.received: int | None = None
        self.on_main_thread = False
        self.ended = threading.Event()
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Take part in the process's handling of SIGINT and SIGTERM; returns whether
        a handler is in place (on the main thread this installs it)."""
        self.on_main_thread = threading.current_thread() is threading.main_thread()
        installed = dispatcher.install()
        self._previous = dict(dispatcher.previous)
        dispatcher.add(self)
        return installed

    def receive(self, number: int) -> None:
        """From the handler: the run's first signal notifies it."""
        if self.received is None:
            self.received = number
            self._notify(signal.Signals(number).name)

    def interrupt_main_thread(self) -> None:
        """From another thread: interrupt a step running in the main thread now, even
        inside a blocking call (an asynchronous exception would wait for it to return).
        Sends this process's main thread a SIGINT that the handler knows is ours. Only
        a run driven from the main thread runs steps there."""
        if not self.on_main_thread or signal.getsignal(signal.SIGINT) != dispatcher.handle:
            return
        dispatcher.wakeups += 1
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def restore(self) -> None:
        """The run ended: it no longer takes part (the handler stays, chaining)."""
        dispatcher.remove(self)
        self.ended.set()

    def act(self) -> None:
        """After the run ended: a run driven from the main thread does what the received
        signal would have done, once the other threads' runs ended too. (Runs of other
        threads leave that to the handler, which runs in the main thread.)"""
        number = self.received
        if number is None or not self.on_main_thread:
            return
        wait_for_runs_to_end(END_WAIT_S, but=self)
        previous = self._previous.get(number, signal.SIG_DFL)
        if number == signal.SIGINT and previous in (signal.default_int_handler, signal.SIG_DFL):
            raise KeyboardInterrupt
        chain(previous, number, None)
