"""headrace's own messages on the terminal: how much to show, and where it goes.

Warnings and errors headrace logs (a pickled output, a hook that raised, an alert that
could not be posted) must reach the user even while a run captures step output, so the
``headrace`` logger gets one handler of its own, installed when ``headrace`` is imported:

* modules that log get the logger from :func:`headrace_logger`, which installs the
  handler, so ``import headrace`` alone imports no ``logging``;
* its level is ``HEADRACE_LOGGING_VERBOSITY`` (``DEBUG``, ``INFO``, ``WARN``, ``ERROR``,
  ``CRITICAL``; default ``INFO``), read again by :func:`configure_verbosity`;
* it writes to the terminal under any per-step tee (see ``execution/logs.py``), so a step's
  log keeps one copy of each record, made by the step log handler;
* it stays quiet when the application configured logging itself (a handler on the root
  logger): records propagate there and would otherwise be shown twice;
* while a live display owns the terminal, lines go through it (:func:`set_live_writer`)
  instead of tearing its redraws.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TextIO

from headrace.utils.env import ENV_LOGGING_VERBOSITY
from headrace.utils.names import terminal_safe

LOGGER_NAME = "headrace"
DEFAULT_VERBOSITY = "INFO"
LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
# Handlers headrace itself puts on the root logger carry this attribute; any other
# handler there means the application set logging up and shows our records itself.
INTERNAL_HANDLER_FLAG = "_headrace_internal"

# ``extra=`` of log records that the run progress already shows as a line of its own: they
# still go into the step's log, but are not printed twice.
SHOWN_BY_PROGRESS = {"headrace_shown_by_progress": True}

LiveWriter = Callable[[str, int], None]
_live_writer: LiveWriter | None = None


def verbosity() -> int:
    """The logging level ``HEADRACE_LOGGING_VERBOSITY`` asks for (``INFO`` when unset).

    Raises:
        ValueError: the variable holds something that is not a level name.
    """
    raw = os.environ.get(ENV_LOGGING_VERBOSITY)
    if raw is None or not raw.strip():
        return LEVELS[DEFAULT_VERBOSITY]
    level = LEVELS.get(raw.strip().upper())
    if level is None:
        names = ", ".join(name for name in LEVELS if name != "WARNING")
        raise ValueError(
            f"Environment variable {ENV_LOGGING_VERBOSITY}={raw!r} is not a level; use one "
            f"of {names}."
        )
    return level


def terminal_stream(stream: TextIO) -> TextIO:
    """The stream under any tee that copies output into a step's log."""
    return getattr(stream, "terminal_target", stream)


def set_live_writer(writer: LiveWriter | None) -> LiveWriter | None:
    """Send headrace's lines to ``writer(text, level)`` (``None``: to stderr again).

    Returns the writer that was set before, to restore when the live display ends.
    """
    global _live_writer
    previous, _live_writer = _live_writer, writer
    return previous


def live_display_active() -> bool:
    """Whether a live display owns the terminal now."""
    return _live_writer is not None


def write_line(text: str, level: int = logging.INFO) -> None:
    """Show one line of headrace's own output (through a live display if one is active).

    Control characters in it (from run and step names, error messages) are shown escaped.
    """
    text = terminal_safe(text)
    writer = _live_writer
    if writer is not None:
        writer(text, level)
        return
    stream = terminal_stream(sys.stderr)
    stream.write(text + "\n")
    stream.flush()


def _application_handles_records() -> bool:
    return any(
        not getattr(handler, INTERNAL_HANDLER_FLAG, False)
        for handler in logging.getLogger().handlers
    )


class TerminalHandler(logging.Handler):
    """Shows headrace's log records on stderr: ``Warning: ...``, ``Error: ...``."""

    PREFIXES = {logging.WARNING: "Warning: ", logging.ERROR: "Error: ", logging.CRITICAL: "Error: "}

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "headrace_shown_by_progress", False) or _application_handles_records():
            return
        try:
            message = record.getMessage()
            if record.exc_info and record.levelno >= logging.ERROR:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            write_line(self.PREFIXES.get(record.levelno, "") + message, record.levelno)
        except Exception:
            self.handleError(record)


_handler = TerminalHandler()


def configure_verbosity() -> int:
    """Set the ``headrace`` logger to ``HEADRACE_LOGGING_VERBOSITY``; returns the level.

    A value that is not a level is reported once and ``INFO`` is used.
    """
    logger = logging.getLogger(LOGGER_NAME)
    try:
        level = verbosity()
    except ValueError as exc:
        level = LEVELS[DEFAULT_VERBOSITY]
        logger.setLevel(level)
        logger.warning("%s Using %s.", exc, DEFAULT_VERBOSITY)
        return level
    logger.setLevel(level)
    return level


def install() -> None:
    """Attach the terminal handler to the ``headrace`` logger (once) and set its level."""
    logger = logging.getLogger(LOGGER_NAME)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    configure_verbosity()


def headrace_logger() -> logging.Logger:
    """The ``headrace`` logger, with its terminal handler installed."""
    if _handler not in logging.getLogger(LOGGER_NAME).handlers:
        install()
    return logging.getLogger(LOGGER_NAME)
