"""Brute-force protection for logins: after too many attempts for one user name, or
from one address, within a window, logins are refused until the window has ended.

Two limits because attackers do both: many passwords against one user (the per-user
limit, low) and one common password against many users (the per-address limit,
higher, since many people may share one address). A success clears the user's count,
not the address's.

The counts live in the store's ``login_attempts`` table, so every server on one
database counts together (two replicas behind a load balancer do not double an
attacker's budget) and a restart keeps them. A login's attempt is counted *before* its
password is checked, in one atomic upsert, so parallel guesses cannot all slip past a
limit while the slow hash runs; a success (or a refusal) takes its count back. Windows
are fixed: the first attempt starts one, it lasts ``window_seconds``, and a locked
login is told (``Retry-After``) when it ends. Subjects are stored as SHA-256 hashes:
a user name typed into the wrong field is often a password.

Cost per login: one statement (the count) for a failure; two (the count, then taking
it back) for a success or a refusal. Both find their rows by primary key. Once per
window a process also deletes the ended windows (through their index). An API key sent
with a request is checked with one read and counted only when it is wrong.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from headrace.exceptions import TooManyAttemptsError
from headrace.store.base import CredentialStore, LoginWindow
from headrace.utils.env import (
    ENV_SERVER_LOGIN_LOCKOUT_SECONDS,
    ENV_SERVER_LOGIN_MAX_ADDRESS_FAILURES,
    ENV_SERVER_LOGIN_MAX_FAILURES,
    env_number,
)

DEFAULT_MAX_USER_FAILURES = 5
DEFAULT_MAX_ADDRESS_FAILURES = 20
DEFAULT_WINDOW_SECONDS = 300.0


def subject(kind: str, value: str) -> str:
    """The stored key of a user name (``kind`` ``u``) or address (``a``)."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class _Limit:
    """One subject of one login: its key, its limit and how a refusal names it."""

    __slots__ = ("key", "limit", "what")

    def __init__(self, key: str, limit: int, what: str) -> None:
        self.key, self.limit, self.what = key, limit, what


class LoginLimiter:
    """Counts logins per user name and per client address in fixed windows, in the store.

    Args:
        store: where the counts are kept (shared by every server on its database).
        max_user_failures: failures for one user name that lock it for the window.
        max_address_failures: failures from one address that lock it for the window.
        window_seconds: how long a window lasts.
        clock: seconds since the epoch (tests pass their own; servers sharing a
            database must agree on the time, as they do for schedules).
    """

    def __init__(
        self,
        store: CredentialStore,
        max_user_failures: int = DEFAULT_MAX_USER_FAILURES,
        max_address_failures: int = DEFAULT_MAX_ADDRESS_FAILURES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_user_failures = max_user_failures
        self.max_address_failures = max_address_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._next_prune = 0.0

    @classmethod
    def from_environment(cls, store: CredentialStore) -> LoginLimiter:
        """Limits from the login-limit environment variables, else the defaults."""
        return cls(
            store,
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

    def _limits(self, user: str | None, address: str | None) -> list[_Limit]:
        limits = []
        if user:
            limits.append(_Limit(subject("u", user), self.max_user_failures, "this user"))
        if address:
            limits.append(_Limit(subject("a", address), self.max_address_failures, "this address"))
        return limits

    def _now(self) -> tuple[float, datetime]:
        seconds = self._clock()
        return seconds, datetime.fromtimestamp(seconds, UTC)

    def _refuse(self, limit: _Limit, window: LoginWindow, now: datetime) -> TooManyAttemptsError:
        retry_after = self.window_seconds - (now - window.window_start).total_seconds()
        return TooManyAttemptsError(
            f"Too many failed logins for {limit.what}; try again in "
            f"{max(1, round(retry_after))} s.",
            retry_after=max(1.0, retry_after),
        )

    def _prune(self, seconds: float, now: datetime) -> None:
        """Delete ended windows, at most once per window per process."""
        if seconds >= self._next_prune:
            self._next_prune = seconds + self.window_seconds
            self.store.prune_login_attempts(now - timedelta(seconds=self.window_seconds))

    def attempt(self, user: str | None, address: str | None) -> None:
        """Count a login attempt before its credentials are checked; a refused attempt
        is taken back at once, so it does not count either.

        Raises:
            TooManyAttemptsError: this attempt is past a limit; with the seconds to wait.
        """
        limits = self._limits(user, address)
        if not limits:
            return
        seconds, now = self._now()
        self._prune(seconds, now)
        windows = self.store.count_login_attempts(
            [limit.key for limit in limits], now, self.window_seconds
        )
        for limit in limits:
            window = windows[limit.key]
            if window.attempts > limit.limit:
                self.store.uncount_login_attempts(take_back=[lim.key for lim in limits])
                raise self._refuse(limit, window, now)

    def succeeded(self, user: str | None, address: str | None = None) -> None:
        """Clear the count of a user who just logged in, and take the attempt counted
        (``attempt``) from the address back: it was not a failure."""
        user_keys = [subject("u", user)] if user else []
        address_keys = [subject("a", address)] if address else []
        self.store.uncount_login_attempts(reset=user_keys, take_back=address_keys)

    def check(self, user: str | None, address: str | None) -> None:
        """Raise if logins for ``user`` or from ``address`` are locked right now (a read:
        for checks that count only failures, such as an API key sent with a request).

        Raises:
            TooManyAttemptsError: with the seconds to wait.
        """
        limits = self._limits(user, address)
        if not limits:
            return
        _, now = self._now()
        windows = self.store.login_windows(
            [limit.key for limit in limits], now, self.window_seconds
        )
        for limit in limits:
            window = windows.get(limit.key)
            if window is not None and window.attempts >= limit.limit:
                raise self._refuse(limit, window, now)

    def failed(self, user: str | None, address: str | None) -> None:
        """Count a failure that ``check`` let through."""
        limits = self._limits(user, address)
        if limits:
            seconds, now = self._now()
            self._prune(seconds, now)
            self.store.count_login_attempts(
                [limit.key for limit in limits], now, self.window_seconds
            )
