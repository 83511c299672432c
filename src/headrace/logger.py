"""``get_logger``: a logger for pipeline code whose INFO lines are shown.

``logger = get_logger(__name__)`` at the top of a steps module gives a standard
``logging.Logger``. Its level is ``HEADRACE_LOGGING_VERBOSITY`` (``INFO`` unless set),
and while the application configures no logging of its own its lines are printed to the
terminal. Inside a step they are also kept in the step's logs, like its prints.
"""

from __future__ import annotations

import logging

from headrace.execution.logs import show_info_logs
from headrace.utils.env import ENV_LOGGING_VERBOSITY


def get_logging_level() -> int:
    """The level ``HEADRACE_LOGGING_VERBOSITY`` names (``INFO`` when unset).

    Raises:
        ConfigurationError: the variable holds something other than a level name.
    """
    from headrace.utils.terminal import verbosity

    try:
        return verbosity()
    except ValueError as exc:
        from headrace.exceptions import ConfigurationError

        raise ConfigurationError(str(exc)) from exc


def get_logger(logger_name: str) -> logging.Logger:
    """The logger ``logger_name``, at the configured level, shown on the terminal."""
    logger = logging.getLogger(logger_name)
    logger.setLevel(get_logging_level())
    show_info_logs(logger)
    return logger


__all__ = ["ENV_LOGGING_VERBOSITY", "get_logger", "get_logging_level"]
