"""Calling success, failure, init and cleanup hooks without letting them hide step errors."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.execution.run_state import RunState

logger = headrace_logger()


def _accepts_argument(hook: Any) -> bool:
    try:
        parameters = [
            p
            for p in inspect.signature(hook).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        return False
    return bool(parameters)


def run_hook(
    state: RunState,
    source: str,
    kind: str,
    owner: str,
    exception: BaseException | None = None,
    kwargs: dict[str, Any] | None = None,
) -> tuple[Any, BaseException | None]:
    """Call a hook; returns ``(its return value, the exception it raised or None)``.

    A failure hook gets the step's exception when it takes an argument. A hook that
    raises is logged and recorded, never re-raised, so it cannot mask the error that
    triggered it.
    """
    try:
        hook = state.resolve(source)
        if exception is not None and _accepts_argument(hook):
            return hook(exception), None
        return hook(**(kwargs or {})), None
    except Exception as exc:
        logger.error(
            "The %s hook %s of %s raised %s: %s", kind, source, owner, type(exc).__name__, exc
        )
        with state.lock:
            state.hook_errors.append((owner, kind, source, exc))
        return None, exc
