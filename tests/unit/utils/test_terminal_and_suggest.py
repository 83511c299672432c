"""The pieces of terminal output and error wording: verbosity, progress lines, closest
names."""

from __future__ import annotations

import logging

import pytest

from headrace.enums import ExecutionStatus
from headrace.execution.progress import LineProgress, error_line, seconds, step_line
from headrace.utils import terminal
from headrace.utils.suggest import closest, did_you_mean, unknown_key_message


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        (None, logging.INFO),
        ("debug", logging.DEBUG),
        ("WARN", logging.WARNING),
        ("Warning", logging.WARNING),
        (" ERROR ", logging.ERROR),
        ("CRITICAL", logging.CRITICAL),
    ],
)
def test_verbosity_levels(monkeypatch: pytest.MonkeyPatch, raw: str | None, level: int) -> None:
    if raw is not None:
        monkeypatch.setenv("HEADRACE_LOGGING_VERBOSITY", raw)
    assert terminal.verbosity() == level


def test_a_bad_verbosity_names_the_variable_and_the_levels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADRACE_LOGGING_VERBOSITY", "chatty")
    with pytest.raises(ValueError, match="HEADRACE_LOGGING_VERBOSITY='chatty'.*DEBUG, INFO"):
        terminal.verbosity()


def test_durations_and_error_lines() -> None:
    assert seconds(0.0123) == "0.012s"
    assert seconds(3.44) == "3.4s"
    assert seconds(125) == "2m05s"
    assert error_line(ValueError("first\nsecond")) == "ValueError: first"
    assert error_line(KeyError()) == "KeyError"
    assert error_line(None) is None


def test_step_lines_say_how_a_step_ended() -> None:
    completed = ExecutionStatus.COMPLETED
    assert step_line("a", completed, 0.5, None, None) == "Step 'a' completed in 0.500s."
    assert step_line("a", ExecutionStatus.FAILED, 1.0, "E: x", None) == (
        "Step 'a' failed after 1.0s: E: x"
    )
    assert step_line("a", ExecutionStatus.SKIPPED, None, None, "not started: because") == (
        "Step 'a' skipped: because"
    )
    stopped = step_line("a", ExecutionStatus.STOPPED, 2.0, None, None)
    assert stopped == "Step 'a' stopped after 2.0s."


def test_a_step_is_reported_once_whatever_records_it(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LineProgress(logging.INFO)
    progress.step_started("a")
    progress.step_finished("a", ExecutionStatus.STOPPED, None, "stopped")
    progress.step_finished("a", ExecutionStatus.STOPPED, None, "stopped")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "Step 'a' started."
    assert len([line for line in lines if "stopped" in line]) == 1
    assert progress.counts == {ExecutionStatus.STOPPED: 1}


def test_closest_names() -> None:
    assert closest("dokcer", ["docker", "resources"]) == "docker"
    assert closest("zzz", ["docker"]) is None
    assert did_you_mean("enable_cahce", ["enable_cache"]) == " (did you mean 'enable_cache'?)"
    assert unknown_key_message("option", "x", ["b", "a", "a"]) == "unknown option 'x'; valid: a, b"
