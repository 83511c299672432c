"""How the CLI renders durations, sizes, ids, types, statuses and values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headrace.cli.formatting import (
    format_duration,
    format_size,
    format_time,
    short_id,
    short_repr,
    short_type,
    status_text,
)
from headrace.enums import ExecutionStatus


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "-"),
        (0.0, "0ms"),
        (0.0123, "12ms"),
        (3.21, "3.2s"),
        (59.94, "59.9s"),
        (65, "1m 05s"),
        (3599, "59m 59s"),
        (3600 * 2 + 60 * 3 + 10, "2h 03m"),
    ],
)
def test_format_duration_picks_a_unit_by_size(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("num_bytes", "expected"),
    [
        (None, "-"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**5, "3072.0 TiB"),  # the largest unit absorbs the rest
    ],
)
def test_format_size_uses_binary_units(num_bytes: int | None, expected: str) -> None:
    assert format_size(num_bytes) == expected


def test_format_time_converts_utc_to_local_time() -> None:
    moment = datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)
    assert format_time(moment) == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert format_time(None) == "-"


def test_short_id_and_short_type() -> None:
    assert short_id("0123456789abcdef") == "01234567"
    assert short_id(None) == "-"
    assert short_type("builtins.int") == "int"
    assert short_type("pandas.core.frame.DataFrame") == "DataFrame"
    assert short_type("") == "-"


def test_status_text_colours_by_meaning() -> None:
    assert status_text(ExecutionStatus.FAILED).plain == "failed"
    assert "red" in str(status_text("failed").style)
    assert "green" in str(status_text(ExecutionStatus.COMPLETED).style)
    assert status_text(None).plain == "-"


def test_short_repr_is_bounded() -> None:
    assert short_repr([1, 2, 3]) == "[1, 2, 3]"
    long_list = short_repr(list(range(1000)))
    assert long_list.startswith("[0, 1, 2") and long_list.endswith("...]")
    assert len(short_repr("x" * 10_000)) < 300
    assert len(short_repr({i: i for i in range(1000)})) < 200
