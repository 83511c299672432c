"""Alerter hooks: post a short JSON message about a step to a webhook URL.

``alerter_success_hook`` and ``alerter_failure_hook`` post through the alerter of the
run's stack (``headrace alerter register ...``, ``headrace stack register ... -al NAME``),
else to the URL in ``HEADRACE_ALERTER_WEBHOOK_URL``; ``webhook_alerter(url)`` makes a
pair bound to a URL.
The message works with chat webhooks that read a ``text`` field (Slack, Mattermost,
Discord-compatible endpoints) and carries the details as fields for other receivers.
A failed post is logged, never raised: an alert must not turn a result into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headrace.execution.context import get_step_context
from headrace.stacks.alerters import post_json
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.models import StackComponentResponse

logger = headrace_logger()

ENV_WEBHOOK_URL = "HEADRACE_ALERTER_WEBHOOK_URL"
TIMEOUT_S = 10.0


def _message(status: str, exception: BaseException | None) -> dict[str, Any]:
    context = get_step_context()
    run = context.pipeline_run
    text = f"Step {context.step_name!r} of run {run.name!r} {status}."
    if exception is not None:
        text += f" {type(exception).__name__}: {exception}"
    return {
        "text": text,
        "status": status,
        "step": context.step_name,
        "invocation_id": context.invocation_id,
        "run": run.name,
        "run_id": run.id,
        "pipeline": run.pipeline_name,
        "error": None if exception is None else f"{type(exception).__name__}: {exception}",
    }


def post_alert(url: str, payload: dict[str, Any]) -> bool:
    """POST ``payload`` as JSON; returns whether the receiver accepted it."""
    return post_json(url, payload, timeout_s=TIMEOUT_S)


def _send(status: str, exception: BaseException | None) -> None:
    """Post through the run's stack alerter, else to the environment's webhook URL."""
    message = _message(status, exception)
    alerter = _stack_alerter()
    if alerter is not None:
        alerter.post(message["text"], params=message)
        return
    url = os.environ.get(ENV_WEBHOOK_URL)
    if not url:
        logger.warning(
            "No alert sent: the stack has no alerter and %s is not set.", ENV_WEBHOOK_URL
        )
        return
    post_alert(url, message)


def _stack_alerter() -> StackComponentResponse | None:
    run = get_step_context().pipeline_run
    return run.store.get_stack(run.stack_id).alerter


def alerter_success_hook() -> None:
    """Success hook: post that the step succeeded."""
    _send("succeeded", None)


def alerter_failure_hook(exception: BaseException) -> None:
    """Failure hook: post that the step failed, with the error."""
    _send("failed", exception)


def webhook_alerter(
    url: str,
) -> tuple[Callable[[], None], Callable[[BaseException], None]]:
    """A ``(success_hook, failure_hook)`` pair that post to ``url``."""

    def on_success() -> None:
        post_alert(url, _message("succeeded", None))

    def on_failure(exception: BaseException) -> None:
        post_alert(url, _message("failed", exception))

    return on_success, on_failure
