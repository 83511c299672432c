"""Turn values from the store into short, readable strings for tables and trees.

Pure functions with no I/O, so every command renders ids, times, durations, sizes and
statuses the same way and the rules can be changed in one place.
"""

from __future__ import annotations

import reprlib
from datetime import datetime
from typing import Any

from rich.text import Text

from headrace.enums import ExecutionStatus

ID_PREFIX_LENGTH = 8
MISSING = "-"

# Colour per status: success green, in flight yellow, failure red, not run dim.
_STATUS_STYLES: dict[ExecutionStatus, str] = {
    ExecutionStatus.COMPLETED: "green",
    ExecutionStatus.CACHED: "cyan",
    ExecutionStatus.FAILED: "bold red",
    ExecutionStatus.STOPPED: "red",
    ExecutionStatus.STOPPING: "yellow",
    ExecutionStatus.RUNNING: "yellow",
    ExecutionStatus.RETRYING: "yellow",
    ExecutionStatus.INITIALIZING: "yellow",
    ExecutionStatus.PROVISIONING: "yellow",
    ExecutionStatus.QUEUED: "blue",
    ExecutionStatus.SKIPPED: "dim",
}

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def short_id(entity_id: str | None) -> str:
    """The first characters of an id: enough to pass back to ``show`` commands."""
    return entity_id[:ID_PREFIX_LENGTH] if entity_id else MISSING


def format_time(moment: datetime | None) -> str:
    """A timestamp in the local time zone, to the second.

    The store keeps UTC; people read their own clock, so the CLI converts.
    """
    if moment is None:
        return MISSING
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """A duration with a unit that fits its size (``850ms``, ``3.2s``, ``4m 05s``)."""
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_size(num_bytes: int | None) -> str:
    """A byte count in binary units (``512 B``, ``1.5 KiB``)."""
    if num_bytes is None:
        return MISSING
    size = float(num_bytes)
    for unit in _SIZE_UNITS:
        if size < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # the loop always returns on the last unit


def short_type(data_type: str) -> str:
    """The class name of a ``module.Class`` source path; tables have no room for modules."""
    return data_type.rsplit(".", 1)[-1] if data_type else MISSING


def status_text(status: ExecutionStatus | str | None) -> Text:
    """A status word coloured by what it means for the user."""
    if status is None:
        return Text(MISSING)
    value = ExecutionStatus(status)
    return Text(value.value, style=_STATUS_STYLES.get(value, ""))


def _make_repr() -> reprlib.Repr:
    # Bounded on every axis: a value can be a million-row list or a huge string, and
    # the terminal should get a glance of it, not all of it.
    limits = reprlib.Repr()
    limits.maxlevel = 3
    limits.maxlist = limits.maxtuple = limits.maxset = limits.maxfrozenset = 10
    limits.maxdict = 10
    limits.maxstring = 200
    limits.maxother = 600
    return limits


_REPR = _make_repr()


def short_repr(value: Any) -> str:
    """A bounded ``repr`` of a loaded artifact value."""
    return _REPR.repr(value)
