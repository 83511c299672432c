"""Built-in hooks: alerts posted to a webhook when steps succeed or fail."""

from headrace.hooks.alerter_hooks import (
    alerter_failure_hook,
    alerter_success_hook,
    webhook_alerter,
)

__all__ = ["alerter_failure_hook", "alerter_success_hook", "webhook_alerter"]
