"""Default factories for pydantic fields: ``Field(default_factory=new_dict)``.

When pydantic builds a model's schema it inspects every default factory's signature (a
factory may take the validated data). For the builtin ``dict`` and ``list``,
``inspect.signature`` has to parse the type's text signature, which costs more than the
rest of the field's schema (about 0.1 ms a field here, and a run builds the schemas of
some fifty such fields); a plain function's signature is read from its code object.
"""

from __future__ import annotations

from typing import Any


def new_dict() -> dict[Any, Any]:
    """A new empty dict, as ``dict()``."""
    return {}


def new_list() -> list[Any]:
    """A new empty list, as ``list()``."""
    return []
