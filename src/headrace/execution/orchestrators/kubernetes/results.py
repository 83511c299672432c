"""What a finished step pod's step recorded: its step run, read from the store.

The step entry point in the pod writes the step run (status, error, outputs) to the
store itself, so the driver reads the result back by run id and invocation id instead of
shipping it through Kubernetes (a pod's termination message holds at most 4 KiB and is
lost with the pod). When the pod ended without a finished step run (killed, evicted,
out of memory, image not pulled), the result is not ``recorded`` and the driver records
the step as the pod's end says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headrace.enums import ExecutionStatus
from headrace.execution.step_task import InputArtifact, StepResult

if TYPE_CHECKING:
    from headrace.models.step_run import StepRunResponse
    from headrace.store.base import Store


def recorded_result(store: Store, run_id: str, invocation_id: str) -> StepResult | None:
    """The result the step recorded, or ``None`` if its step run did not finish."""
    step_run = store.list_step_runs(run_id).get(invocation_id)
    if step_run is None or not step_run.status.is_finished:
        return None
    return result_of(step_run)


def result_of(step_run: StepRunResponse) -> StepResult:
    """A finished step run as the result the scheduler expects."""
    outputs = {}
    for name, versions in step_run.outputs.items():
        if not versions:
            continue
        version = versions[0]
        outputs[name] = InputArtifact(
            artifact_version_id=version.id,
            uri=version.uri,
            materializer=version.materializer,
            data_type=version.data_type,
            content_hash=version.content_hash,
            python_version=version.python_version,
            inline=version.inline_content,
        )
    error = None
    if step_run.error is not None:
        error = f"{step_run.error.type.rpartition('.')[2]}: {step_run.error.message}"
    elif step_run.status is not ExecutionStatus.COMPLETED and step_run.status_reason:
        error = step_run.status_reason
    return StepResult(step_run.name, step_run.status, step_run.id, outputs, error, recorded=True)
