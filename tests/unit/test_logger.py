"""headrace.logger: the verbosity variable, and loggers that show their INFO lines."""

from __future__ import annotations

import logging

import pytest

from headrace.exceptions import ConfigurationError
from headrace.logger import ENV_LOGGING_VERBOSITY, get_logger, get_logging_level


def test_level_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_logging_level() == logging.INFO
    monkeypatch.setenv(ENV_LOGGING_VERBOSITY, "debug")
    assert get_logger("headrace_test.verbose").level == logging.DEBUG
    monkeypatch.setenv(ENV_LOGGING_VERBOSITY, "WARN")
    assert get_logging_level() == logging.WARNING
    monkeypatch.setenv(ENV_LOGGING_VERBOSITY, "chatty")
    with pytest.raises(ConfigurationError, match="HEADRACE_LOGGING_VERBOSITY='chatty'"):
        get_logging_level()


def test_get_logger_adds_its_handler_once() -> None:
    first = get_logger("headrace_test.once")
    second = get_logger("headrace_test.once")
    assert first is second and len(first.handlers) == 1
