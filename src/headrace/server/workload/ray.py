"""The ``ray`` workload manager: each run's runner is a Ray job on a Ray cluster.

``pip install 'headrace[ray]'``; Ray is imported when the manager is built. The runner
(``python -m headrace.execution.snapshot_runs RUN_ID``) is submitted through Ray's Job
Submission API (``ray.job_submission.JobSubmissionClient``) to the cluster's dashboard
at ``HEADRACE_RAY_ADDRESS``; the Ray job's submission id (``headrace-<run id>``) is the
handle, so any server can find the job again after a restart. Ray runs the entrypoint
on the head node by default; it drives the run with whatever orchestrator the run's
stack names (the ``ray`` orchestrator spreads the steps over the cluster).

The runner's environment (``RunJob.environment``: where the store is) travels in the
job's ``runtime_env`` ``env_vars``; Ray shows a job's runtime environment to everyone
who can reach its dashboard, so give the runner a service account's API key of its own.

**Timeouts.** Ray jobs have none; the limit is kept in the job's metadata and checked
by :meth:`RayWorkloadManager.state`, which stops a job that has run too long and
reports it failed (the run itself ends ``stopped``, as on any SIGTERM).

**Stopping.** ``stop_job`` sends SIGTERM to the runner, which ends the run ``stopped``,
and Ray kills what is left after ``RAY_JOB_STOP_WAIT_TIME_S`` (3 s by default). A
graceful stop (running steps finish first) is asked for through the store
(``stop_requested``) by whoever stops the run, before it calls the manager.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from headrace.exceptions import WorkloadManagerError
from headrace.server.workload.base import JobState, RunJob, WorkloadManager
from headrace.server.workload.runner import runner_shell_command
from headrace.server.workload.settings import EnvironmentReader

ENV_RAY_ADDRESS = "HEADRACE_RAY_ADDRESS"
ENV_RAY_PYTHON = "HEADRACE_RAY_WORKLOAD_MANAGER_PYTHON"
ENV_RAY_RUNTIME_ENV = "HEADRACE_RAY_WORKLOAD_MANAGER_RUNTIME_ENV"
ENV_RAY_ENTRYPOINT_NUM_CPUS = "HEADRACE_RAY_WORKLOAD_MANAGER_ENTRYPOINT_NUM_CPUS"
INSTALL_HINT = "pip install 'headrace[ray]'"
TIMEOUT_KEY = "headrace_timeout_s"
RUN_KEY = "headrace_run_id"

# Ray's job states, as the interface names them (STOPPED: stopped by stop_job, which
# is a runner that did not end by itself).
_STATES = {
    "PENDING": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "STOPPED": JobState.FAILED,
}
_HTTP_ADDRESS = re.compile(r"^https?://[^\s/]+(:\d+)?/?$")


def submission_id(run_id: str) -> str:
    """The Ray submission id of a run's runner (one runner per run)."""
    return f"headrace-{run_id}"


class RayWorkloadManager(WorkloadManager):
    """Runners as Ray jobs, through the cluster's Job Submission API."""

    name: ClassVar[str] = "ray"

    def __init__(
        self,
        address: str,
        *,
        python: str = "python",
        runtime_env: Mapping[str, Any] | None = None,
        entrypoint_num_cpus: float | None = None,
    ) -> None:
        """Connect to the dashboard at ``address`` (``http://host:8265``).

        Raises:
            WorkloadManagerError: Ray is not installed or the dashboard cannot be reached.
        """
        self.address = address
        self.python = python
        self.runtime_env = dict(runtime_env or {})
        self.entrypoint_num_cpus = entrypoint_num_cpus
        try:
            from ray.job_submission import JobSubmissionClient
        except ImportError as exc:
            raise WorkloadManagerError(
                f"The ray workload manager needs Ray's job submission client: {INSTALL_HINT}."
            ) from exc
        try:
            self._client = JobSubmissionClient(address)
        except Exception as exc:  # ConnectionError, and Ray's own for a wrong address
            raise WorkloadManagerError(
                f"Cannot reach the Ray Job Submission API at {address} ({ENV_RAY_ADDRESS}): "
                f"{type(exc).__name__}: {exc}. It is served by the head node's dashboard "
                "(ray start --head --include-dashboard=true --dashboard-host=0.0.0.0; "
                "port 8265 by default)."
            ) from exc

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """``HEADRACE_RAY_ADDRESS`` (required) and the ray manager's optional settings."""
        reader = EnvironmentReader(environ, "ray")
        address = reader.string(
            ENV_RAY_ADDRESS, required=True, why="the Ray dashboard, e.g. http://ray-head:8265"
        )
        if address is not None and not _HTTP_ADDRESS.match(address):
            reader.problem(
                f"{ENV_RAY_ADDRESS}={address!r} is not the dashboard's http://host:port "
                "address (the Job Submission API is served there, port 8265 by default)"
            )
        python = reader.string(ENV_RAY_PYTHON) or "python"
        runtime_env = reader.json_value(
            ENV_RAY_RUNTIME_ENV, dict, '{"pip": ["scikit-learn"], "env_vars": {"A": "1"}}'
        )
        cpus = reader.string(ENV_RAY_ENTRYPOINT_NUM_CPUS)
        num_cpus = None
        if cpus is not None:
            try:
                num_cpus = float(cpus)
            except ValueError:
                num_cpus = -1.0
            if not num_cpus >= 0:
                reader.problem(f"{ENV_RAY_ENTRYPOINT_NUM_CPUS}={cpus!r} must be a number >= 0")
        reader.check()
        assert address is not None
        return cls(address, python=python, runtime_env=runtime_env, entrypoint_num_cpus=num_cpus)

    # -- the interface ----------------------------------------------------------------
    def launch(self, job: RunJob) -> str:
        handle = submission_id(job.run_id)
        runtime_env = dict(self.runtime_env)
        env_vars = {**runtime_env.get("env_vars", {}), **job.environment}
        runtime_env["env_vars"] = env_vars
        metadata = {RUN_KEY: job.run_id, "headrace_snapshot_id": job.snapshot_id}
        if job.timeout_s is not None:
            metadata[TIMEOUT_KEY] = f"{job.timeout_s:g}"
        try:
            self._client.submit_job(
                entrypoint=runner_shell_command(job, self.python),
                submission_id=handle,
                runtime_env=runtime_env,
                metadata=metadata,
                entrypoint_num_cpus=self.entrypoint_num_cpus,
            )
        except Exception as exc:
            raise WorkloadManagerError(
                f"Ray at {self.address} refused the runner of run {job.run_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return handle

    def state(self, handle: str) -> JobState:
        info = self._info(handle)
        if info is None:
            return JobState.UNKNOWN
        state = _STATES.get(str(getattr(info.status, "value", info.status)), JobState.UNKNOWN)
        if state is JobState.RUNNING and self._timed_out(info):
            self.stop(handle, graceful=False)
            return JobState.FAILED
        return state

    def stop(self, handle: str, *, graceful: bool = True) -> None:
        if self._info(handle) is None:
            return  # nothing to stop
        try:
            self._client.stop_job(handle)
        except Exception as exc:
            raise WorkloadManagerError(
                f"Ray at {self.address} could not stop job {handle}: {type(exc).__name__}: {exc}"
            ) from exc

    def logs(self, handle: str) -> str:
        if self._info(handle) is None:
            return ""
        try:
            return str(self._client.get_job_logs(handle))
        except Exception as exc:
            raise WorkloadManagerError(
                f"Ray at {self.address} could not return the logs of job {handle}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # -- helpers ----------------------------------------------------------------------
    def _info(self, handle: str) -> Any:
        """The job's details, or ``None`` when Ray has no job ``handle``."""
        try:
            return self._client.get_job_info(handle)
        except RuntimeError as exc:  # the SDK's "job does not exist" (HTTP 404)
            if "does not exist" in str(exc) or "404" in str(exc):
                return None
            raise WorkloadManagerError(
                f"Ray at {self.address} could not describe job {handle}: {exc}"
            ) from exc
        except Exception as exc:
            raise WorkloadManagerError(
                f"Cannot reach Ray at {self.address} about job {handle}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    @staticmethod
    def _timed_out(info: Any) -> bool:
        limit = (info.metadata or {}).get(TIMEOUT_KEY)
        started = info.start_time  # milliseconds since the epoch
        if limit is None or not started:
            return False
        return time.time() - started / 1000 > float(limit)
