"""What a pod's status says, in words: why it waits, how it ended, what the API answered."""

from __future__ import annotations

from typing import Any

# A pod waiting for one of these will not start by waiting longer.
HOPELESS_WAITING = frozenset(
    {"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"}
)


def waiting_reason(item: Any) -> str | None:
    """Why a pod's container waits (``ErrImagePull``), if it does."""
    for status in item.status.container_statuses or () if item.status else ():
        waiting = status.state.waiting if status.state else None
        if waiting is not None and waiting.reason:
            return str(waiting.reason)
    return None


def termination(item: Any) -> str:
    """How a pod's container ended, in words (``OOMKilled, exit code 137``)."""
    for status in item.status.container_statuses or ():
        terminated = status.state.terminated if status.state else None
        if terminated is not None:
            reason = terminated.reason or "Error"
            return f"{reason}, exit code {terminated.exit_code}"
    return item.status.reason or item.status.phase or "unknown"


def api_message(exc: BaseException) -> str:
    """An API error in one line: the status and the API's answer."""
    status = getattr(exc, "status", None)
    if status is not None:
        body = getattr(exc, "body", None) or getattr(exc, "reason", "")
        return f"API answered {status}: {str(body)[:500]}"
    return f"{type(exc).__name__}: {exc}"
