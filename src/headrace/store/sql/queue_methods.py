"""The SQL store's run-queue verbs (``RunQueueStore``), and stopping runs that may still
wait in the queue."""

from __future__ import annotations

from headrace.enums import ExecutionStatus
from headrace.models import PipelineRunRequest, PipelineRunResponse, QueueEntry
from headrace.store.base import RunQueueStore, Store
from headrace.store.sql.repositories.run_queue import RunQueueRepository


class RunQueueMethods(RunQueueStore):
    """Mixed into ``SqlStore``, which sets ``run_queue``."""

    run_queue: RunQueueRepository

    def enqueue_run(
        self,
        request: PipelineRunRequest,
        *,
        source: str,
        schedule_id: str | None,
        max_queued: int,
    ) -> PipelineRunResponse:
        return self.run_queue.enqueue(
            request, source=source, schedule_id=schedule_id, max_queued=max_queued
        )

    def claim_queued_runs(self, claimer: str, max_in_flight: int) -> list[QueueEntry]:
        return self.run_queue.claim(claimer, max_in_flight)

    def record_launch(self, run_id: str, handle: str) -> None:
        self.run_queue.record_launch(run_id, handle)

    def in_flight_runs(self) -> list[QueueEntry]:
        return self.run_queue.in_flight()

    def release_run(self, run_id: str, runner_logs: str | None) -> None:
        self.run_queue.release(run_id, runner_logs)

    def append_runner_output(self, run_id: str, start_byte: int, content: str) -> None:
        self.run_queue.append_output(run_id, start_byte, content)

    def live_runner_output(self, run_id: str) -> str:
        return self.run_queue.live_output(run_id)

    def queue_counts(self) -> tuple[int, int]:
        return self.run_queue.counts()

    def get_queue_entry(self, run_id: str) -> QueueEntry | None:
        return self.run_queue.entry(run_id)

    def end_run_if_unended(self, run_id: str, status: ExecutionStatus, reason: str) -> bool:
        return self.run_queue.end_if_unended(run_id, status, reason)

    def stop_run(self, run_id: str, *, graceful: bool = False) -> PipelineRunResponse:
        """A queued run ends ``stopped`` at once; a running one is asked to stop."""
        assert isinstance(self, Store)
        run = self.get_run(run_id)
        if run.status is ExecutionStatus.QUEUED and self.run_queue.stop_waiting(run.id):
            return self.get_run(run.id)
        return Store.stop_run(self, run.id, graceful=graceful)

    def get_runner_logs(self, run_id: str) -> str:
        return self.run_queue.runner_logs(run_id) or ""
