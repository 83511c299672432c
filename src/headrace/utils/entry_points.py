"""Calls from a lower layer into a higher one, bound when ``headrace`` is imported.

Calling a pipeline or a step starts a run, and a stored artifact's ``.load()`` reads its
bytes: the dsl and the response models offer these, but running and loading live in
layers above them. Rather than importing upward, they call a function by name here;
``headrace.runs`` (imported by ``import headrace``, so always before any of these calls)
provides the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headrace.exceptions import HeadraceError

RUN_PIPELINE = "run_pipeline"
RUN_SINGLE_STEP = "run_single_step"
CREATE_SNAPSHOT = "create_snapshot"
DEPLOY_PIPELINE = "deploy_pipeline"
STORED_PIPELINE = "stored_pipeline"
LOAD_ARTIFACT_VERSION = "load_artifact_version"
READ_TEXT = "read_text"

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def provide(name: str, function: Callable[..., Any]) -> None:
    """Make ``function`` the implementation of entry point ``name``."""
    _FUNCTIONS[name] = function


def entry_point(name: str) -> Callable[..., Any]:
    """The implementation of entry point ``name``.

    Raises:
        HeadraceError: nothing provided it (``headrace.runs`` was not imported).
    """
    function = _FUNCTIONS.get(name)
    if function is None:
        raise HeadraceError(
            f"headrace entry point {name!r} is not installed; import headrace (which "
            "imports headrace.runs) before running pipelines or loading artifacts."
        )
    return function
