"""Names and ids in paths and bodies: refused when they could mean a path elsewhere.

Names end up in messages, file names of exports and URLs; a name with a path
separator, ``..`` or a control character is refused with 422 rather than stored.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path

from headrace.exceptions import ConfigurationError

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]|^\.\.?$|(^|[/\\])\.\.([/\\]|$)")

NameOrId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f\x7f]+$",
        description="A name, an id, or a unique id prefix (4+ characters).",
    ),
]


def check_name(name: str, kind: str) -> str:
    """``name`` if it is safe to store as the name of a ``kind``.

    Raises:
        ConfigurationError: the name holds a path separator, ``..`` or a control
            character.
    """
    if not name.strip() or _BAD_NAME.search(name):
        raise ConfigurationError(
            f"Invalid {kind} name {name!r}: names may not be empty, '.' or '..', nor contain "
            "'/', '\\\\' or control characters."
        )
    return name
