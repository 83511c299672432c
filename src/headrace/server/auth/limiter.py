"""Brute-force protection for logins: after too many failures for one user name, or
from one address, within a window, logins are refused until the window has moved on.

Two limits because attackers do both: many passwords against one user (the per-user
limit, low) and one common password against many users (the per-address limit,
higher, since many people may share one address). A success clears the user's failures,
not the address's. The counts live in the server process's memory: a restart forgets
them, and servers behind one load balancer each count their own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from headrace.exceptions import TooManyAttemptsError
from headrace.utils.env import (
    ENV_SERVER_LOGIN_LOCKOUT_SECONDS,
    ENV_SERVER_LOGIN_MAX_ADDRESS_FAILURES,
    ENV_SERVER_LOGIN_MAX_FAILURES,
    env_number,
)

DEFAULT_MAX_USER_FAILURES = 5
DEFAULT_MAX_ADDRESS_FAILURES = 20
DEFAULT_WINDOW_SECONDS = 300.0
# Failure histories kept at most; the oldest keys are dropped past this, so a flood of
# made-up user names cannot grow the server's memory without bound.
MAX_TRACKED_KEYS = 100_000


class LoginLimiter:
    """Counts failed logins per user name and per client address in a sliding window.

    Args:
        max_user_failures: failures for one user name that lock it for the window.
        max_address_failures: failures from one address that lock it for the window.
        window_seconds: how long a failure counts.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        max_user_failures: int = DEFAULT_MAX_USER_FAILURES,
        max_address_failures: int = DEFAULT_MAX_ADDRESS_FAILURES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_user_failures = max_user_failures
        self.max_address_failures = max_address_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> LoginLimiter:
        """Limits from the login-limit environment variables, else the defaults."""
        return cls(
            max_user_failures=int(
                env_number(ENV_SERVER_LOGIN_MAX_FAILURES, DEFAULT_MAX_USER_FAILURES, minimum=1)
            ),
            max_address_failures=int(
                env_number(
                    ENV_SERVER_LOGIN_MAX_ADDRESS_FAILURES,
                    DEFAULT_MAX_ADDRESS_FAILURES,
                    minimum=1,
                )
            ),
            window_seconds=env_number(
                ENV_SERVER_LOGIN_LOCKOUT_SECONDS, DEFAULT_WINDOW_SECONDS, minimum=1
            ),
        )

    def _keys(self, user: str | None, address: str | None) -> list[tuple[str, int]]:
        keys = []
        if user:
            keys.append((f"user:{user}", self.max_user_failures))
        if address:
            keys.append((f"address:{address}", self.max_address_failures))
        return keys

    def _recent(self, key: str, now: float) -> deque[float]:
        history = self._failures.get(key)
        if history is None:
            return deque()
        while history and history[0] <= now - self.window_seconds:
            history.popleft()
        if not history:
            del self._failures[key]
        return history

    def check(self, user: str | None, address: str | None) -> None:
        """Raise if logins for ``user`` or from ``address`` are locked right now.

        Raises:
            TooManyAttemptsError: with the seconds to wait.
        """
        with self._lock:
            now = self._clock()
            for key, limit in self._keys(user, address):
                history = self._recent(key, now)
                if len(history) >= limit:
                    retry_after = history[-limit] + self.window_seconds - now
                    what = "this user" if key.startswith("user:") else "this address"
                    raise TooManyAttemptsError(
                        f"Too many failed logins for {what}; try again in "
                        f"{max(1, round(retry_after))} s.",
                        retry_after=max(1.0, retry_after),
                    )

    def failed(self, user: str | None, address: str | None) -> None:
        """Count a failed login."""
        with self._lock:
            now = self._clock()
            for key, _ in self._keys(user, address):
                history = self._failures.setdefault(key, deque())
                history.append(now)
            while len(self._failures) > MAX_TRACKED_KEYS:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, user: str | None) -> None:
        """Forget the failures of a user who just logged in."""
        if user:
            with self._lock:
                self._failures.pop(f"user:{user}", None)
