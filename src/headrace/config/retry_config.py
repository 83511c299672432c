"""Step retries: how often to try a failing step again and how long to wait between tries."""

from pydantic import Field

from headrace.config.base import ConfigModel


class StepRetryConfig(ConfigModel):
    """Retry a failing step up to ``max_retries`` times.

    The wait before retry ``n`` (1-based) is ``delay * backoff ** (n - 1)`` seconds, so
    ``delay=10, backoff=2`` waits 10, 20 and 40 seconds. A ``backoff`` of 0 or 1 keeps
    the wait constant.
    """

    max_retries: int = Field(default=1, ge=0)
    delay: float = Field(default=0, ge=0)
    backoff: float = Field(default=1, ge=0)

    def wait_before(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        if self.backoff <= 1:
            return float(self.delay)
        return float(self.delay * self.backoff ** (retry_number - 1))
