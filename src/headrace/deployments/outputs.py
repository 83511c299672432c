"""Pipeline outputs as JSON values for the answer of ``POST /invoke``.

Plain data goes through as is; pydantic models, dataclasses, dates, sets and tuples
become their JSON forms; arrays and frames (numpy, pandas) their ``tolist()`` /
records; anything else its ``str``. Nothing is pickled.
"""

from __future__ import annotations

from typing import Any

_PLAIN = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """``value`` as something ``json.dumps`` writes."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: jsonable(item) for key, item in value.items()}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and type(value).__module__.startswith("pandas"):
        return jsonable(to_dict(orient="records") if hasattr(value, "columns") else to_dict())
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)
