"""The interface every workload manager implements.

A workload manager starts the runner of one snapshot run somewhere (a local
subprocess, a Ray job, a Kubernetes Job), reports what became of it, stops it, and
returns its output. It never decides when a run starts: the server's queue does, so
the concurrency limit holds whatever the manager. The handle it returns is stored with
the queued run, so a restarted server (or another replica) can find the runner again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Self


class JobState(StrEnum):
    """What a workload manager knows of a runner it launched."""

    PENDING = "pending"
    """Accepted but not started yet (an image pulls, a Ray job waits for resources)."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    """The runner exited 0; the run's own status in the store says how the run ended."""
    FAILED = "failed"
    """The runner exited non-zero, was killed, or timed out."""
    UNKNOWN = "unknown"
    """The manager has no record of the handle (its cluster forgot it, or it is gone)."""

    @property
    def is_finished(self) -> bool:
        """Whether the runner will do nothing more."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.UNKNOWN)


@dataclass(frozen=True)
class RunJob:
    """Everything a manager needs to start the runner of one queued run.

    Attributes:
        run_id: the recorded run (status ``queued``) the runner executes.
        snapshot_id: the snapshot the run comes from.
        command: the runner's command line, without the interpreter when
            ``python_module`` is set (``["-m", "headrace.execution.snapshot_runs", RUN_ID]``).
        environment: variables the runner needs (``HEADRACE_STORE_URL`` and the like);
            a manager adds them to the runner's environment and never logs their values.
        image: the snapshot's container image, if one was built; container-based managers
            use it (or their own runner image, by their settings).
        timeout_s: the runner is stopped (and the run marked failed) after this long;
            ``None`` for no limit.
    """

    run_id: str
    snapshot_id: str
    command: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    timeout_s: float | None = None


class WorkloadManager(ABC):
    """Launches, watches and stops the runners of snapshot runs.

    Implementations are chosen by ``HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE``
    (see :mod:`headrace.server.workload.registry`) and built with
    :meth:`from_environment`, which refuses missing or malformed settings with a
    :class:`headrace.exceptions.ServerConfigurationError` naming every one of them, so a
    misconfigured server does not start.
    """

    name: ClassVar[str]
    """Short name shown by ``/api/v1/info`` and in logs (``local``, ``ray``, ...)."""

    @classmethod
    @abstractmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """Build the manager from ``HEADRACE_*`` variables in ``environ``."""

    @abstractmethod
    def launch(self, job: RunJob) -> str:
        """Start the runner of ``job`` and return a handle that finds it again.

        The handle is a string the store keeps with the queued run (a pid with its start
        time, a Ray submission id, a Job name); it must stay valid across server restarts.
        Raises :class:`headrace.exceptions.WorkloadManagerError` if nothing was started.
        """

    @abstractmethod
    def state(self, handle: str) -> JobState:
        """What became of the runner behind ``handle``; ``UNKNOWN`` if it cannot be found."""

    @abstractmethod
    def stop(self, handle: str, *, graceful: bool = True) -> None:
        """Stop the runner: gracefully (the run ends ``stopped``) or at once."""

    @abstractmethod
    def logs(self, handle: str) -> str:
        """The runner's output so far (empty if there is none to fetch)."""

    def local_output(self, handle: str, start: int, limit: int) -> bytes | None:
        """Up to ``limit`` bytes of the runner's output from byte ``start``, for a runner
        whose output only this server's machine can read (the dispatcher copies it into
        the store, so every server can serve it while the run runs); ``None`` when any
        server can fetch the output itself (a cluster's API), as most managers can."""
        return None

    def close(self) -> None:  # noqa: B027 - most managers hold nothing to release
        """Release clients and connections; runners already launched go on."""
