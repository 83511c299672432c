"""The dispatcher: a thread in every server that launches queued runs and watches them.

Each round it

1. watches the runs in flight (claimed by *any* server, so runs of a server that
   stopped are still looked after): reading a run applies the run-lifecycle rules (a
   driver that is gone ends the run ``failed``); a run that ended frees its slot and
   keeps its runner's output; a runner the workload manager reports finished while its
   run has not ended means the runner died: the run is ended (``failed``, or
   ``stopped`` if a stop was asked), then its slot freed;
2. copies, about once a second, the new output of the runners *this* server launched
   into the store when only its machine can read it (the ``local`` manager's files),
   so that every server sharing the database can serve a running run's output;
3. claims the oldest queued runs, as many as the free slots across all servers allow
   (``RunQueueStore.claim_queued_runs``), and launches each through the workload
   manager, keeping the handle with the run.

Nothing here is kept only in memory: a restarted server finds the queue and the runs
in flight in the database, and several servers on one PostgreSQL database share them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from headrace.enums import ExecutionStatus
from headrace.execution.snapshot_runs import runner_command
from headrace.models import PipelineRunUpdate, QueueEntry
from headrace.server.workload.base import JobState, RunJob, WorkloadManager
from headrace.store.base import RunQueueStore, Store
from headrace.utils.env import ENV_STORE_URL

logger = logging.getLogger("headrace.server")

POLL_SECONDS = 0.1
"""How often the queue is read for runs to claim (a trigger on this server wakes it)."""
WATCH_SECONDS = 0.5
"""How often the runs in flight are watched."""
COPY_SECONDS = 1.0
"""How often new runner output is copied into the store (one row per run and copy)."""
CHUNK_MAX_BYTES = 256 * 1024
"""The most runner output one copy takes (a busier runner catches up over several)."""
LIVE_OUTPUT_MAX_BYTES = 8 * 1024 * 1024
"""The most output of one run copied while it runs; all of it is kept when it ends."""
RELEASE_GRACE_SECONDS = 10.0
"""How long after a run's end only its launching server releases it (see above)."""
_PAST_LIMIT = (
    f"\n[headrace: the live copy of this output stops at {LIVE_OUTPUT_MAX_BYTES} bytes; "
    "all of it is kept when the run ends]\n"
)


def instance_id() -> str:
    """A name of this server process, unique across servers and restarts."""
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Launches queued runs within the concurrency limit and watches them until they end."""

    def __init__(
        self,
        store: Store,
        manager: WorkloadManager,
        *,
        max_in_flight: int,
        runner_timeout_s: float | None = None,
        job_environment: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(store, RunQueueStore):
            raise TypeError("The dispatcher needs a store that keeps the run queue (SQL).")
        self.store = store
        self.queue: RunQueueStore = store
        self.manager = manager
        self.max_in_flight = max_in_flight
        self.runner_timeout_s = runner_timeout_s
        self.job_environment = {ENV_STORE_URL: store.url, **(job_environment or {})}
        self.instance = instance_id()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headrace-dispatcher", daemon=True)
        self._next_watch = 0.0
        self._next_copy = 0.0
        self._copied: dict[str, int] = {}  # run id: bytes of its output copied so far

    def start(self) -> None:
        """Start the dispatching thread."""
        self._thread.start()

    def wake(self) -> None:
        """A run was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop launching; launched runners go on (another server, or this one after a
        restart, watches them)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.dispatch_once()
            except Exception:  # the loop must outlive a failing database call
                logger.exception("The run dispatcher failed a round; it goes on")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def dispatch_once(self) -> None:
        """One round: watch the runs in flight (every ``WATCH_SECONDS``), then launch."""
        now = time.monotonic()
        if now >= self._next_watch:
            self._next_watch = now + WATCH_SECONDS
            copy = now >= self._next_copy
            if copy:
                self._next_copy = now + COPY_SECONDS
            in_flight = self.queue.in_flight_runs()
            for entry in in_flight:
                if self._stopping.is_set():
                    return
                try:
                    if self._watch(entry) and copy:
                        self._copy_output(entry)
                except Exception:
                    logger.exception("Could not watch run %s", entry.run_id)
            # Forget the offsets of runs another server released.
            flying = {entry.run_id for entry in in_flight}
            for run_id in [run_id for run_id in self._copied if run_id not in flying]:
                del self._copied[run_id]
        if self._stopping.is_set():
            return
        for entry in self.queue.claim_queued_runs(self.instance, self.max_in_flight):
            self._launch(entry)

    # -- launching ------------------------------------------------------------------------
    def _launch(self, entry: QueueEntry) -> None:
        run = self.store.get_run(entry.run_id)
        if run.stop_requested is not None:
            self._end(entry, ExecutionStatus.STOPPED, "Stopped before its runner started.")
            return
        job = RunJob(
            run_id=run.id,
            snapshot_id=run.snapshot_id or "",
            command=runner_command(run.id),
            environment=self.job_environment,
            image=self._image(run.snapshot_id),
            timeout_s=self.runner_timeout_s,
        )
        try:
            handle = self.manager.launch(job)
        except Exception as exc:
            logger.exception("The %s manager could not launch run %s", self.manager.name, run.id)
            self._end(
                entry,
                ExecutionStatus.FAILED,
                f"The {self.manager.name} workload manager could not launch its runner: "
                f"{type(exc).__name__}: {exc}",
            )
            return
        self.queue.record_launch(run.id, handle)
        logger.info("Launched run %s (%s, %s)", run.name, self.manager.name, handle)

    def _image(self, snapshot_id: str | None) -> str | None:
        """The snapshot's container image tag, when one was built (or reused) for it:
        ``extra["image"]`` is an image record, and a record of a context that was never
        built names no image a cluster could pull."""
        if snapshot_id is None:
            return None
        with contextlib.suppress(Exception):
            return image_tag(self.store.get_snapshot(snapshot_id).extra.get("image"))
        return None

    # -- watching -------------------------------------------------------------------------
    def _watch(self, entry: QueueEntry) -> bool:
        """Look after one run in flight; whether its runner is still running."""
        run = self.store.get_run(entry.run_id)  # the lifecycle rules apply on read
        if run.status.is_finished:
            if not self._leave_release_to_launcher(entry, run.end_time):
                self._release(run.id, self._logs(entry.handle))
            return False
        if entry.handle is None:
            # Being launched right now, or its server stopped between claim and launch:
            # the run's heartbeat from the claim lets the lifecycle rules end it then.
            return False
        state = self.manager.state(entry.handle)
        if not state.is_finished:
            if run.status is ExecutionStatus.INITIALIZING:
                if run.stop_requested == "immediate":
                    self.manager.stop(entry.handle, graceful=False)
                else:  # the runner has not claimed the run yet (an image pulls, ...)
                    self.store.update_run(run.id, PipelineRunUpdate(heartbeat=datetime.now(UTC)))
            return True
        # The runner is gone. It records the run's end before it exits, so a run that
        # still has not ended now never will (this changes only an unended run).
        logs = self._logs(entry.handle)
        if run.stop_requested is not None:
            self.queue.end_run_if_unended(run.id, ExecutionStatus.STOPPED, "Stopped.")
        else:
            reason = _died_reason(self.manager.name, state, logs)
            self.queue.end_run_if_unended(run.id, ExecutionStatus.FAILED, reason)
        self._release(run.id, logs)
        return False

    def _end(self, entry: QueueEntry, status: ExecutionStatus, reason: str) -> None:
        self.queue.end_run_if_unended(entry.run_id, status, reason)
        self._release(entry.run_id, None)

    def _leave_release_to_launcher(self, entry: QueueEntry, end_time: datetime | None) -> bool:
        """Whether to let the server that launched an ended run release it: only that
        server can read its runner's whole output when the output is a file on its
        machine. Past ``RELEASE_GRACE_SECONDS`` after the end (that server is gone),
        any server releases it, keeping the output copied while it ran."""
        if entry.claimed_by == self.instance or entry.handle is None or end_time is None:
            return False
        if self.manager.local_output(entry.handle, 0, 0) is None:
            return False  # any server can fetch this runner's output
        return (datetime.now(UTC) - end_time).total_seconds() < RELEASE_GRACE_SECONDS

    def _release(self, run_id: str, logs: str | None) -> None:
        self.queue.release_run(run_id, logs)
        self._copied.pop(run_id, None)

    def _copy_output(self, entry: QueueEntry) -> None:
        """Copy the new output of a runner this server launched into the store, whole
        lines only (a line longer than a chunk is cut), when only this machine can read
        it (``WorkloadManager.local_output``). A restarted server is another instance
        and copies no more: the run's whole output is still kept when it ends."""
        if entry.claimed_by != self.instance or entry.handle is None:
            return
        start = self._copied.get(entry.run_id, 0)
        if start >= LIVE_OUTPUT_MAX_BYTES:
            return
        limit = min(CHUNK_MAX_BYTES, LIVE_OUTPUT_MAX_BYTES - start)
        data = self.manager.local_output(entry.handle, start, limit)
        if not data:
            return
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) < limit:
            return  # the line is not finished yet: copied with its end
        data = data[:end] if end else data
        text = data.decode("utf-8", errors="replace")
        if start + len(data) >= LIVE_OUTPUT_MAX_BYTES:
            text += _PAST_LIMIT
        self.queue.append_runner_output(entry.run_id, start, text)
        self._copied[entry.run_id] = start + len(data)

    def _logs(self, handle: str | None) -> str | None:
        if handle is None:
            return None
        try:
            return self.manager.logs(handle) or None
        except Exception:
            logger.exception("Could not fetch the runner logs of %s", handle)
            return None


def _died_reason(manager: str, state: JobState, logs: str | None) -> str:
    last = next((line for line in reversed((logs or "").splitlines()) if line.strip()), "")
    what = "no longer known to" if state is JobState.UNKNOWN else f"{state.value} in"
    reason = f"Its runner ended ({what} the {manager} workload manager) before the run ended"
    return f"{reason}; its last output: {last.strip()}" if last else reason + "."


def image_tag(record: object) -> str | None:
    """The pullable tag of a snapshot's image record, or ``None`` if it has none."""
    if isinstance(record, str):
        return record or None
    if not isinstance(record, dict):
        return None
    tag = record.get("tag")
    usable = record.get("built") or record.get("reused") or record.get("pushed")
    return str(tag) if tag and usable else None
