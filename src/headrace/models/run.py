"""Pipeline runs."""

import time
from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.enums import ExecutionStatus
from headrace.models.artifact import ArtifactVersionResponse
from headrace.models.base import RequestModel, RunResponseBase
from headrace.models.step_run import HookError, StepRunResponse
from headrace.utils.factories import new_dict, new_list


class PipelineRunRequest(RequestModel):
    """A new pipeline run."""

    id: str
    name: str
    pipeline_id: str | None
    snapshot_id: str | None
    stack_id: str
    status: ExecutionStatus = ExecutionStatus.INITIALIZING
    config: dict[str, Any] = Field(default_factory=new_dict)
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    start_time: datetime | None = None
    triggered_by_step_run_id: str | None = None
    unlisted: bool = False
    driver_host: str | None = None
    driver_pid: int | None = None
    driver_started: str | None = None
    heartbeat: datetime | None = None
    resumed_from_run_id: str | None = None


class PipelineRunUpdate(RequestModel):
    """Fields of a run that change while it runs."""

    status: ExecutionStatus | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    status_reason: str | None = None
    outputs: dict[str, str] | None = None  # output name -> artifact version id
    orchestrator_run_id: str | None = None
    hook_errors: list[HookError] | None = None
    snapshot_id: str | None = None  # a dynamic run records the graph it actually ran
    driver_host: str | None = None  # the process driving the run (run lifecycle)
    driver_pid: int | None = None
    driver_started: str | None = None
    heartbeat: datetime | None = None
    stop_requested: str | None = None  # "graceful" or "immediate"


class PipelineRunResponse(RunResponseBase):
    """A pipeline run; ``steps`` maps invocation ids to step runs."""

    name: str
    pipeline_id: str | None = None
    pipeline_name: str | None = None
    snapshot_id: str | None = None
    stack_id: str
    status: ExecutionStatus
    config: dict[str, Any] = Field(default_factory=new_dict)
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    start_time: datetime | None = None
    end_time: datetime | None = None
    status_reason: str | None = None
    output_ids: dict[str, str] = Field(default_factory=new_dict)
    triggered_by_step_run_id: str | None = None
    orchestrator_run_id: str | None = None
    unlisted: bool = False
    hook_errors: list[HookError] = Field(default_factory=new_list)
    driver_host: str | None = None
    driver_pid: int | None = None
    heartbeat: datetime | None = None
    stop_requested: str | None = None
    resumed_from_run_id: str | None = None

    @property
    def steps(self) -> dict[str, StepRunResponse]:
        """Step runs of this run by invocation id, in the order they started."""
        return self.store.list_step_runs(self.id)

    @property
    def outputs(self) -> dict[str, ArtifactVersionResponse]:
        """The pipeline's return values, by output name (read in one store call)."""
        if not self.output_ids:
            return {}
        found = self.store.get_artifact_versions(list(self.output_ids.values()))
        missing = [name for name, version_id in self.output_ids.items() if version_id not in found]
        if missing:
            from headrace.exceptions import EntityNotFoundError

            raise EntityNotFoundError(
                f"Run {self.name!r}: the artifact versions of output(s) {', '.join(missing)} "
                "are gone from the store."
            )
        return {name: found[version_id] for name, version_id in self.output_ids.items()}

    @property
    def pipeline(self) -> Any:
        """The pipeline this run belongs to (``None`` for a single-step run)."""
        return self.store.get_pipeline(self.pipeline_id) if self.pipeline_id else None

    @property
    def duration(self) -> float | None:
        """Seconds between start and end, when both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def refresh(self) -> "PipelineRunResponse":
        """The current state of this run, read again from the store."""
        return self.store.get_run(self.id)

    def wait(
        self, timeout: float | None = None, poll_interval: float = 0.05
    ) -> "PipelineRunResponse":
        """Block until the run has finished; returns its final state.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        run = self.refresh()
        interval = min(poll_interval, 0.01)
        while not run.status.is_finished:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"Run {self.name!r} did not finish within {timeout} s "
                    f"(status: {run.status.value})."
                )
            time.sleep(interval)
            interval = min(interval * 2, poll_interval * 10)
            run = self.refresh()
        return run
