"""What a server is started with: where it listens, which database, and its limits.

The run queue's limits come from the command line, else from the environment
(``HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS`` or its alias
``HEADRACE_SERVER_MAX_CONCURRENT_SNAPSHOT_RUNS``, ``HEADRACE_SERVER_MAX_QUEUED_RUNS``,
``HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS``), else the defaults below. A value
that is not a positive number stops the server before it starts, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from headrace.exceptions import ServerConfigurationError
from headrace.utils.env import (
    ENV_SERVER_MAX_CONCURRENT_RUNS,
    ENV_SERVER_MAX_CONCURRENT_RUNS_ALIAS,
    ENV_SERVER_MAX_QUEUED_RUNS,
    ENV_SERVER_RUNNER_TIMEOUT,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8237
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CONCURRENT_RUNS = 2
DEFAULT_MAX_QUEUED_RUNS = 100
DEFAULT_RUNNER_TIMEOUT_S = 24 * 3600.0


@dataclass(frozen=True)
class ServerSettings:
    """Settings of one server process.

    Args:
        database_url: ``sqlite:///...`` or ``postgresql://...``; the repository's store
            (``.headrace/headrace.db``) when ``None``.
        artifact_path: root of the default stack's artifact store when the server creates
            it (beside the SQLite database by default).
        max_body_bytes: requests with a larger body are refused with 413.
        max_concurrent_runs: runs in flight (launched, not ended) at once across every
            server on the database; later triggers wait in the queue (``queued``).
        max_queued_runs: runs that may wait in the queue; a trigger beyond answers 429.
        runner_timeout_s: a runner still running after this long is stopped and its run
            marked failed.
        auth_scheme: what ``/api/v1/info`` reports: OAuth2 password login for bearer
            tokens (API keys also work as the password, or in ``X-API-Key``).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str | None = None
    artifact_path: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    max_queued_runs: int = DEFAULT_MAX_QUEUED_RUNS
    runner_timeout_s: float = DEFAULT_RUNNER_TIMEOUT_S
    auth_scheme: str = "oauth2_password_bearer"


class QueueLimits(NamedTuple):
    """The run queue's limits, as ``ServerSettings`` fields."""

    max_concurrent_runs: int
    max_queued_runs: int
    runner_timeout_s: float


def queue_limits(
    environ: Mapping[str, str] | None = None,
    *,
    max_concurrent_runs: int | None = None,
    max_queued_runs: int | None = None,
) -> QueueLimits:
    """The queue's settings: the given values, else the environment's, else the defaults.

    Raises:
        ServerConfigurationError: naming every variable that is malformed.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []

    def read(name: str, default: float, *, whole: bool) -> float:
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            value = 0
        if not value > 0:
            kind = "a whole number" if whole else "a number of seconds"
            problems.append(f"{name}={environ[name]!r}: expected {kind} greater than 0.")
            return default
        return value

    concurrent = read(ENV_SERVER_MAX_CONCURRENT_RUNS, 0, whole=True)
    alias = read(ENV_SERVER_MAX_CONCURRENT_RUNS_ALIAS, 0, whole=True)
    if concurrent and alias and concurrent != alias:
        problems.append(
            f"{ENV_SERVER_MAX_CONCURRENT_RUNS}={int(concurrent)} and its alias "
            f"{ENV_SERVER_MAX_CONCURRENT_RUNS_ALIAS}={int(alias)} disagree; set one."
        )
    queued = read(ENV_SERVER_MAX_QUEUED_RUNS, DEFAULT_MAX_QUEUED_RUNS, whole=True)
    timeout = read(ENV_SERVER_RUNNER_TIMEOUT, DEFAULT_RUNNER_TIMEOUT_S, whole=False)
    if problems:
        raise ServerConfigurationError("The server cannot start: " + " ".join(problems))
    return QueueLimits(
        max_concurrent_runs=int(
            max_concurrent_runs or concurrent or alias or DEFAULT_MAX_CONCURRENT_RUNS
        ),
        max_queued_runs=int(max_queued_runs or queued),
        runner_timeout_s=timeout,
    )
