"""Per-step log capture: what a step prints or logs is kept with its step run.

Output still reaches the terminal as it happens; a tee on ``sys.stdout`` / ``sys.stderr``
and a handler on the root logger also copy it into the buffer of the step running in the
current context (a context variable, so parallel steps in threads keep separate logs).
Threads that a step starts itself are not attributed to it.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from headrace.utils.terminal import terminal_stream

_BUFFER: ContextVar[list[str] | None] = ContextVar("headrace_step_log", default=None)
_install_lock = threading.Lock()
_installed = 0
_saved: tuple[TextIO, TextIO] | None = None


class _Tee(io.TextIOBase):
    """A text stream that writes through and copies into the current step's buffer."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    @property
    def terminal_target(self) -> TextIO:
        """Where output goes without being copied into a step's log (headrace's own lines)."""
        return terminal_stream(self.target)

    def write(self, text: str) -> int:
        buffer = _BUFFER.get()
        if buffer is not None:
            buffer.append(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


class _StepLogHandler(logging.Handler):
    """Copies log records into the current step's buffer (the terminal gets them from
    whatever handlers the application configured)."""

    _headrace_internal = True  # not a sign that the application set logging up

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _BUFFER.get()
        if buffer is None:
            return
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            buffer.append(f"{stamp} {record.levelname} {record.name}: {record.getMessage()}\n")
        except Exception:
            self.handleError(record)


_handler = _StepLogHandler()


@contextmanager
def capture_installed() -> Iterator[None]:
    """Install the tees and the log handler for the duration of a run (nesting is fine)."""
    global _installed, _saved
    with _install_lock:
        if _installed == 0:
            _saved = (sys.stdout, sys.stderr)
            sys.stdout = _Tee(sys.stdout)
            sys.stderr = _Tee(sys.stderr)
            logging.getLogger().addHandler(_handler)
        _installed += 1
    try:
        yield
    finally:
        with _install_lock:
            _installed -= 1
            if _installed == 0 and _saved is not None:
                # Only undo our own tees: someone may have replaced the streams since.
                if isinstance(sys.stdout, _Tee):
                    sys.stdout = _saved[0]
                if isinstance(sys.stderr, _Tee):
                    sys.stderr = _saved[1]
                logging.getLogger().removeHandler(_handler)
                _saved = None


@contextmanager
def capturing(buffer: list[str] | None) -> Iterator[None]:
    """Send this context's output to ``buffer`` (``None``: capture nothing)."""
    token = _BUFFER.set(buffer)
    try:
        yield
    finally:
        _BUFFER.reset(token)
