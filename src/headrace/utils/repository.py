"""Find the headrace repository (a directory holding ``.headrace/``), as git finds ``.git``."""

from __future__ import annotations

import os
from pathlib import Path

from headrace.utils.env import ENV_REPOSITORY_PATH

REPOSITORY_DIRECTORY_NAME = ".headrace"


def find_repository_root(start: Path | None = None) -> Path | None:
    """Return the closest directory at or above ``start`` that holds ``.headrace/``.

    ``HEADRACE_REPOSITORY_PATH`` wins when set. Returns ``None`` when there is none.
    """
    explicit = os.environ.get(ENV_REPOSITORY_PATH)
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / REPOSITORY_DIRECTORY_NAME).is_dir():
            return candidate
    return None
