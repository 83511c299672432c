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

from headrace.utils.terminal import INTERNAL_HANDLER_FLAG, LOGGER_NAME, terminal_stream

_BUFFER: ContextVar[list[str] | None] = ContextVar("headrace_step_log", default=None)
# How often at most a running step's output is written out for readers (the dashboard).
LIVE_FLUSH_SECONDS = 1.0


def step_log_uri(artifact_store: Any, run_id: str, invocation_id: str) -> str:
    """Where a step's log lies in the artifact store: written while the step runs (see
    :class:`LiveLogBuffer`) and once more, complete, when it ends."""
    return str(artifact_store.join(artifact_store.path, "logs", run_id, f"{invocation_id}.log"))


class LiveLogBuffer(list[str]):
    """A step's log buffer that also writes what it holds to the step's log file, at most
    once a second while output arrives, so the log can be read while the step runs.

    The step's own log write at its end stays the complete, final one; a failed write
    here is ignored (the final write reports problems). A step that prints nothing costs
    nothing; one that prints pays one clock read per write.
    """

    def __init__(self, artifact_store: Any, uri: str) -> None:
        super().__init__()
        self._artifact_store = artifact_store
        self._uri = uri
        self._flushed = 0.0

    def append(self, text: str) -> None:
        super().append(text)
        now = time.monotonic()
        if now - self._flushed >= LIVE_FLUSH_SECONDS:
            self._flushed = now
            self.write_out()

    def write_out(self) -> None:
        """Write the log so far (best effort)."""
        try:
            with self._artifact_store.open(self._uri, "w") as handle:
                handle.write("".join(self))
        except Exception:  # a live copy must never fail the step
            return


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
        try:
            return self.target.isatty()
        except ValueError:  # the stream behind was closed (atexit handlers run late)
            return False

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


def _real_stderr() -> TextIO:
    stream = sys.stderr
    return stream.target if isinstance(stream, _Tee) else stream


class _TerminalHandler(logging.Handler):
    """Shows log records on the terminal while the application configured no logging.

    On the root logger during runs: INFO and above inside a step (a step's
    ``logging.info`` shows like its prints), WARNING and above elsewhere, as Python does
    with no handler at all. On a logger made with ``get_logger``: what its level lets
    through. Once
    the application adds handlers to the root logger, those decide and this one is quiet.
    """

    _headrace_internal = True  # not a sign that the application set logging up

    def __init__(self, everywhere: bool) -> None:
        super().__init__()
        self.everywhere = everywhere

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "_headrace_shown", False) or not _unconfigured(logging.getLogger()):
            return
        if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
            return  # headrace's own records have their own terminal handler
        inside_step = _BUFFER.get() is not None
        # A get_logger logger's own level has decided already.
        threshold = (
            logging.NOTSET if self.everywhere else logging.INFO if inside_step else logging.WARNING
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


def _unconfigured(root: logging.Logger) -> bool:
    """Whether the application left the root logger alone (only our handlers on it)."""
    return all(getattr(h, INTERNAL_HANDLER_FLAG, False) for h in root.handlers)


def show_info_logs(logger: logging.Logger) -> None:
    """Let ``logger``'s INFO lines reach the terminal (while logging is unconfigured)."""
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if _named_terminal not in logger.handlers:
        logger.addHandler(_named_terminal)


class _LevelFloor(logging.Filter):
    """Drops records below ``level``: what a handler would have shown before the root
    logger's level was lowered for the run."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        # A logger with a level of its own decided already, as it did before the run;
        # only what relied on the root level is held to the old one.
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger.parent is not None:
            if logger.level != logging.NOTSET:
                return True
            logger = logger.parent
        return record.levelno >= self.level


# While runs are going on: the root level before, whether we added _terminal, and the
# filter put on the application's own root handlers.
_root_saved: tuple[int, bool, _LevelFloor | None] | None = None


def _route_step_logs(root: logging.Logger) -> None:
    """While runs are going on, let INFO records reach the step's log buffer.

    The root logger's level (WARNING unless configured) would drop a step's
    ``logging.info`` before any handler sees it, so it is lowered to INFO; the
    application's own root handlers get a filter at the old level, so they show exactly
    what they showed before. With no logging configured, ``_terminal`` prints step
    records like the step's prints.
    """
    global _root_saved
    added = _unconfigured(root) and _terminal not in root.handlers
    if added:
        root.addHandler(_terminal)
    floor = None
    if root.level > logging.INFO:
        floor = _LevelFloor(root.level)
        for handler in root.handlers:
            if handler is not _handler and handler is not _terminal:
                handler.addFilter(floor)
    _root_saved = (root.level, added, floor)
    if floor is not None:
        root.setLevel(logging.INFO)


def _unroute_step_logs(root: logging.Logger) -> None:
    global _root_saved
    if _root_saved is None:
        return
    level, added, floor = _root_saved
    _root_saved = None
    if floor is not None:
        for handler in root.handlers:
            handler.removeFilter(floor)
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
