"""Say which store a command uses when it is not the obvious one.

Outside any repository (no ``.headrace`` here or above) and without
``HEADRACE_STORE_URL``, commands fall back to a store in the user data directory. For
snapshot commands that is easily a surprise (``snapshot list`` shows nothing, ``create``
stores the snapshot somewhere unexpected), so they say where they looked, on stderr.
"""

from __future__ import annotations

import os

from headrace.cli.output import stderr_console
from headrace.utils.env import ENV_STORE_URL


def note_store_outside_repository() -> None:
    """Print, on stderr, the store used when no repository and no store URL chose it."""
    from headrace.store.factory import store_location
    from headrace.utils.repository import find_repository_root

    if os.environ.get(ENV_STORE_URL) or find_repository_root() is not None:
        return
    url, _ = store_location()
    if url.startswith(("http://", "https://")):
        return  # the server of `headrace login`: chosen on purpose, `headrace status` says so
    location = url.removeprefix("sqlite:///")
    stderr_console().print(
        f"No headrace repository in this directory or above, so the store in the user data "
        f"directory is used: {location} (run `headrace init` to make a repository here, "
        f"or set {ENV_STORE_URL}).",
        style="dim",
        markup=False,
        soft_wrap=True,
    )
