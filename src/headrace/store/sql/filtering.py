"""Field filters with operator prefixes, turned into SQL conditions.

A filter value such as ``"contains:train"``, ``"gte:2026-01-01T00:00:00"`` or
``"in:running,failed"`` compares a column with that operator; a value without a known
prefix is compared for equality. Every value is a bound parameter, so quotes, percent
signs and semicolons in a value are plain characters, never SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from headrace.exceptions import InvalidFilterError
from headrace.models.filters import BaseFilter, split_operator
from headrace.store.sql.query import Query

_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "notequals": "<>", "equals": "="}
_TIME_SUFFIXES = (".created", ".updated", "_time")


def apply_filters(query: Query, filter_model: BaseFilter, fields: dict[str, str]) -> None:
    """Narrow ``query`` by every set filter field that ``fields`` maps to a column.

    The conditions are joined with the filter's ``logical_operator`` (``and``/``or``).
    """
    conditions = []
    for field, column in fields.items():
        value = getattr(filter_model, field, None)
        if value is None:
            continue
        conditions.append(condition(query, field, column, value))
    if not conditions:
        return
    joiner = " OR " if filter_model.logical_operator == "or" else " AND "
    query.add(joiner.join(f"({c})" for c in conditions))


def condition(query: Query, field: str, column: str, value: Any) -> str:
    """The SQL condition comparing ``column`` with ``value`` (operator prefix allowed)."""
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        return f"{column} = {query.param(value)}"
    operator, text = split_operator(value)
    if operator == "in":
        items = [_typed(field, column, item.strip()) for item in text.split(",") if item.strip()]
        if not items:
            raise InvalidFilterError(f"Filter {field!r}: 'in:' needs a comma-separated list.")
        return f"{column} IN {query.values(items)}"
    if operator in _COMPARISONS:
        return f"{column} {_COMPARISONS[operator]} {query.param(_typed(field, column, text))}"
    pattern = _escape_like(text.lower())
    pattern = {"contains": f"%{pattern}%", "startswith": f"{pattern}%"}.get(operator, f"%{pattern}")
    return f"lower(CAST({column} AS TEXT)) LIKE {query.param(pattern)} ESCAPE '\\'"


def _typed(field: str, column: str, text: str) -> Any:
    """``text`` as the column's type where the databases would not convert it alike."""
    if not column.endswith(_TIME_SUFFIXES):
        return text
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise InvalidFilterError(
            f"Filter {field!r}: {text!r} is not a date and time; "
            "expected ISO 8601 such as 2026-01-31T12:00:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
