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

_BUFFER: ContextVar[list[str] | None] = ContextVar("headrace_step_log", default=None)
_install_lock = threading.Lock()
_installed = 0
_saved: tuple[TextIO, TextIO] | None = None


class _Tee(io.TextIOBase):
    """A text stream that writes through and copies into the current step's buffer."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

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

def _real_stderr() -> TextIO:
    stream = sys.stderr
    return stream.target if isinstance(stream, _Tee) else stream  # type: ignore[return-value]


class _TerminalHandler(logging.Handler):
    """Shows log records on the terminal while the application configured no logging.

    On the root logger during runs: INFO and above inside a step (a step's
    ``logging.info`` shows like its prints), WARNING and above elsewhere, as Python does
    with no handler at all. On a logger made with ``get_logger``: what its level lets
    through. Once
    the application adds handlers to the root logger, those decide and this one is quiet.
    """

    def __init__(self, everywhere: bool) -> None:
        super().__init__()
        self.everywhere = everywhere

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "_headrace_shown", False) or not _unconfigured(logging.getLogger()):
            return
        inside_step = _BUFFER.get() is not None
        # A get_logger logger's own level has decided already.
        threshold = (
            logging.NOTSET
            if self.everywhere
            else logging.INFO
            if inside_step
            else logging.WARNING
        )
        if record.levelno < threshold:
            return
        record._headrace_shown = True
        try:
            text = record.getMessage()
            if record.levelno >= logging.WARNING:
                text = f"{record.levelname} {record.name}: {text}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            stream = _real_stderr()
            stream.write(text + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


_terminal = _TerminalHandler(everywhere=False)
_named_terminal = _TerminalHandler(everywhere=True)
_root_saved: tuple[int, bool] | None = None  # root level, whether we added _terminal


def _unconfigured(root: logging.Logger) -> bool:
    """Whether the application left the root logger alone (only our handlers on it)."""
    return all(h is _handler or h is _terminal for h in root.handlers)


def show_info_logs(logger: logging.Logger) -> None:
    """Let ``logger``'s INFO lines reach the terminal (while logging is unconfigured)."""
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if _named_terminal not in logger.handlers:
        logger.addHandler(_named_terminal)


def _route_step_logs(root: logging.Logger) -> None:
    """While runs are going on, let INFO records of steps reach our handlers.

    Only when the application configured no logging: lowering the root level would
    otherwise show INFO lines of every library through its own handlers.
    """
    global _root_saved
    if not _unconfigured(root):
        return
    added = _terminal not in root.handlers
    if added:
        root.addHandler(_terminal)
    _root_saved = (root.level, added)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)


def _unroute_step_logs(root: logging.Logger) -> None:
    global _root_saved
    if _root_saved is None:
        return
    level, added = _root_saved
    _root_saved = None
    if root.level == logging.INFO:  # unless someone chose a level meanwhile
        root.setLevel(level)
    if added:
        root.removeHandler(_terminal)


@contextmanager
def capture_installed() -> Iterator[None]:
    """Install the tees and the log handler for the duration of a run (nesting is fine)."""
    global _installed, _saved
    with _install_lock:
        if _installed == 0:
            _saved = (sys.stdout, sys.stderr)
            sys.stdout = _Tee(sys.stdout)
            sys.stderr = _Tee(sys.stderr)
            root = logging.getLogger()
            root.addHandler(_handler)
            _route_step_logs(root)
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
                root = logging.getLogger()
                root.removeHandler(_handler)
                _unroute_step_logs(root)
                _saved = None


@contextmanager
def capturing(buffer: list[str] | None) -> Iterator[None]:
    """Send this context's output to ``buffer`` (``None``: capture nothing)."""
    token = _BUFFER.set(buffer)
    try:
        yield
    finally:
        _BUFFER.reset(token)
