"""``--wait`` on a snapshot run: follow the run with live progress until it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headrace.models import PipelineRunResponse


def wait_with_progress(run: PipelineRunResponse, timeout: float | None) -> PipelineRunResponse:
    """The finished run, after showing its progress on stderr (plain or live).

    Raises:
        TimeoutError: ``timeout`` seconds passed first.
    """
    from headrace.execution.progress import open_progress
    from headrace.execution.run_follow import follow_run

    progress = open_progress()
    if progress is None:  # HEADRACE_LOGGING_VERBOSITY=CRITICAL
        return run.wait(timeout=timeout)
    return follow_run(run.store, run.id, progress, timeout)
