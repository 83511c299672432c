"""Non-finite numbers (``nan``, ``inf``) in parameter values.

JSON has no spelling for them: stored, they would come back as ``null`` and fail later as
"got None", far from the value the user wrote. Every parameter check asks this one
function, so ``.nan`` in YAML, ``1e5000`` in a REST body and ``float("inf")`` in Python
are refused alike, naming where they are.
"""

from __future__ import annotations

import math
from typing import Any


def non_finite_at(value: Any, path: str = "") -> str | None:
    """Where in ``value`` a ``nan`` or infinite number sits (``""`` for the value itself,
    ``[2]``, ``.key`` below it), or ``None`` when there is none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            found = non_finite_at(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = non_finite_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def non_finite_problem(value: Any) -> str | None:
    """A message for a value holding ``nan`` or an infinity, or ``None``."""
    where = non_finite_at(value)
    if where is None:
        return None
    below = f" (at {where})" if where else ""
    return f"{value!r} holds a non-finite number{below}; numbers must be finite (no nan or inf)"
