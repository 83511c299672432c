"""A run's place in a server's run queue: how and when it was launched, and by whom."""

from datetime import datetime

from pydantic import BaseModel


class QueueEntry(BaseModel):
    """One row of the run queue (a run a server started).

    Attributes:
        run_id: the queued run.
        position: its place in the queue (smaller launches first).
        source: who started it: ``rest``, ``cli``, ``sdk``, ``schedule``, ``step``,
            ``dashboard``.
        schedule_id: the schedule that fired it, if one did.
        enqueued_at: when it entered the queue.
        claimed_by: the server instance that took it out of the queue.
        claimed_at: when it was taken (from then on it counts as in flight).
        handle: the workload manager's handle of its runner, once launched.
        launched_at: when the workload manager accepted the runner.
        released_at: when its slot was freed (the run had ended).
    """

    run_id: str
    position: int
    source: str
    schedule_id: str | None = None
    enqueued_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    handle: str | None = None
    launched_at: datetime | None = None
    released_at: datetime | None = None
