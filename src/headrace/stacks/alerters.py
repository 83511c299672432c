"""Alerter implementations: send a message to people (``stack.alerter.post(...)``)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from headrace.stacks.configs import WebhookAlerterConfig
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> bool:
    """POST ``payload`` as JSON to ``url``; returns whether the receiver accepted it.

    A failure is logged, never raised: an alert must not turn a result into a failure.
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except OSError as exc:
        logger.warning("Could not post the alert to %s: %s", url, exc)
        return False


class WebhookAlerter:
    """The ``webhook`` alerter flavor: posts ``{"text": message, ...params}`` as JSON.

    Chat webhooks (Slack, Mattermost, Discord-compatible) read ``text``; other receivers
    get the parameters as fields beside it.
    """

    def __init__(self, config: WebhookAlerterConfig) -> None:
        self.config = config

    def post(self, message: str, params: Any = None) -> bool:
        """Send ``message``; ``params`` (a mapping or a pydantic model) adds fields.

        Returns:
            Whether the receiver accepted the message (2xx).
        """
        payload: dict[str, Any] = {"text": str(message)}
        if params is not None:
            extra = params.model_dump() if hasattr(params, "model_dump") else dict(params)
            payload = {**extra, "text": str(message)}
        return post_json(
            self.config.url,
            payload,
            headers=self.config.headers,
            timeout_s=self.config.timeout_s,
        )
