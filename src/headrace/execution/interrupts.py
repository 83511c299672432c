"""Stopping a step that runs in a thread: an exception raised inside that thread.

CPython can raise an exception asynchronously in another thread; it fires at that
thread's next Python instruction. We only do so while the thread is inside user code
(``user_code()``), so the step runner's own bookkeeping is never cut in half: the
exception surfaces either inside the step function or at the checkpoint as the thread
leaves user code, in both cases inside the runner's ``try``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from headrace.exceptions import StepInterruptedError

_lock = threading.Lock()
_in_user_code: set[int] = set()


def _checkpoint() -> None:
    """A Python-level call: a pending asynchronous exception fires here at the latest."""


@contextmanager
def user_code() -> Iterator[None]:
    """Mark the current thread as running user code, which may be interrupted."""
    ident = threading.get_ident()
    with _lock:
        _in_user_code.add(ident)
    try:
        yield
    finally:
        with _lock:
            _in_user_code.discard(ident)
        _checkpoint()


def interrupt(thread_ident: int) -> bool:
    """Raise ``StepInterruptedError`` in a thread that is running user code.

    Returns whether the exception was scheduled.
    """
    import ctypes  # only needed when a run is being stopped

    with _lock:
        if thread_ident not in _in_user_code:
            return False
        affected = ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_ident), ctypes.py_object(StepInterruptedError)
        )
        return bool(affected == 1)


def interrupt_this_thread() -> None:
    """From a signal handler: raise ``StepInterruptedError`` here and now if this thread
    runs user code (the exception then also interrupts a blocking call such as
    ``time.sleep``); return otherwise.

    No lock is taken (the interrupted code may hold it); removing the thread from the
    set first keeps ``interrupt`` from scheduling a second exception for it.
    """
    ident = threading.get_ident()
    if ident in _in_user_code:
        _in_user_code.discard(ident)
        raise StepInterruptedError("The step was interrupted by a signal.")
