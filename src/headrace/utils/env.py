"""Environment variables: every ``HEADRACE_*`` setting is read here.

Each setting is read when it is used, not at import, so tests and long-lived
processes see changes to ``os.environ``.
"""

from __future__ import annotations

import os

TRUTHY = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSY = frozenset({"0", "false", "no", "off", "n", "f", ""})

ENV_STORE_URL = "HEADRACE_STORE_URL"
ENV_REPOSITORY_PATH = "HEADRACE_REPOSITORY_PATH"
ENV_SOURCE_ROOT = "HEADRACE_SOURCE_ROOT"
ENV_ENFORCE_TYPE_ANNOTATIONS = "HEADRACE_ENFORCE_TYPE_ANNOTATIONS"
ENV_RUN_SINGLE_STEPS_WITHOUT_STACK = "HEADRACE_RUN_SINGLE_STEPS_WITHOUT_STACK"
ENV_SQLITE_SYNCHRONOUS = "HEADRACE_SQLITE_SYNCHRONOUS"
ENV_STORE_WRITE_BEHIND_MS = "HEADRACE_STORE_WRITE_BEHIND_MS"
ENV_SECRETS_KEY = "HEADRACE_SECRETS_KEY"
ENV_LOGGING_VERBOSITY = "HEADRACE_LOGGING_VERBOSITY"
ENV_DEBUG = "HEADRACE_DEBUG"
ENV_STORE_API_KEY = "HEADRACE_STORE_API_KEY"
ENV_STORE_API_TOKEN = "HEADRACE_STORE_API_TOKEN"
ENV_STORE_WRITE_BEHIND_MS = "HEADRACE_STORE_WRITE_BEHIND_MS"
ENV_DEFAULT_PASSWORD = "HEADRACE_DEFAULT_PASSWORD"
ENV_SERVER_JWT_SECRET = "HEADRACE_SERVER_JWT_SECRET"
ENV_SERVER_JWT_EXPIRE_MINUTES = "HEADRACE_SERVER_JWT_TOKEN_EXPIRE_MINUTES"
ENV_SERVER_LOGIN_MAX_FAILURES = "HEADRACE_SERVER_LOGIN_MAX_FAILURES"
ENV_SERVER_LOGIN_MAX_ADDRESS_FAILURES = "HEADRACE_SERVER_LOGIN_MAX_ADDRESS_FAILURES"
ENV_SERVER_LOGIN_LOCKOUT_SECONDS = "HEADRACE_SERVER_LOGIN_LOCKOUT_SECONDS"
ENV_SERVER_MAX_CONCURRENT_RUNS = "HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS"
ENV_SERVER_MAX_CONCURRENT_RUNS_ALIAS = "HEADRACE_SERVER_MAX_CONCURRENT_SNAPSHOT_RUNS"
ENV_SERVER_MAX_QUEUED_RUNS = "HEADRACE_SERVER_MAX_QUEUED_RUNS"
ENV_SERVER_RUNNER_TIMEOUT = "HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS"
ENV_SERVER_RUNNER_LOGS_DIRECTORY = "HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY"
ENV_STRICT_CONFIG = "HEADRACE_STRICT_CONFIG"
ENV_RUN_HEARTBEAT_TIMEOUT = "HEADRACE_RUN_HEARTBEAT_TIMEOUT"
ENV_SERVER_SCHEDULER_POLL_SECONDS = "HEADRACE_SERVER_SCHEDULER_POLL_SECONDS"
ENV_ARTIFACT_INLINE_MAX_BYTES = "HEADRACE_ARTIFACT_INLINE_MAX_BYTES"


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable, refusing values that are neither.

    Raises:
        ValueError: the variable holds something that is not a boolean word.
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUTHY:
        return True
    if value in FALSY:
        return False
    raise ValueError(
        f"Environment variable {name}={raw!r} is not a boolean; use true/false, 1/0 or yes/no."
    )


def env_number(name: str, default: float, *, minimum: float = 0) -> float:
    """Read a number from the environment, refusing what is not one or is too small.

    Raises:
        ConfigurationError: the variable holds something that is not a number
            ``>= minimum`` (also a ``ValueError``).
    """
    from headrace.exceptions import ConfigurationError

    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum:  # also refuses NaN
        raise ConfigurationError(
            f"Environment variable {name}={raw!r} must be a number of at least {minimum:g}."
        )
    return value
