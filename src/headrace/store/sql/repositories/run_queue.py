"""The server's run queue in the ``run_queue`` table (see ``RunQueueStore``).

The two limits are counted inside the transaction that acts on them: enqueueing counts
the waiting rows, claiming counts the rows in flight. On PostgreSQL those transactions
first take one transaction-scoped advisory lock, so two servers cannot both see a free
slot and fill it twice; the claim itself reads its rows ``FOR UPDATE SKIP LOCKED``, so
a row another transaction holds (a stop request, another claim) is passed over rather
than waited for. On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` and
so holds the database's write lock: the same guarantee for the one server a SQLite file
can serve.
"""

from __future__ import annotations

from headrace.enums import ExecutionStatus
from headrace.exceptions import QueueFullError
from headrace.models import PipelineRunRequest, PipelineRunResponse, QueueEntry
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import insert_sql
from headrace.store.sql.repositories.base import Repository, SqlContext, now
from headrace.store.sql.repositories.runs import RunRepository
from headrace.store.sql.run_endings import UNENDED

# Any constant works: only the queue's transactions take this advisory lock.
_ADVISORY_LOCK_KEY = 0x68726471  # "hrdq"
_UNENDED_SQL = ", ".join(f"'{value}'" for value in sorted(UNENDED))
_IN_FLIGHT = "claimed_at IS NOT NULL AND released_at IS NULL"
_ENTRY_COLUMNS = (
    "run_id, position, source, schedule_id, enqueued_at, claimed_by, claimed_at, handle, "
    "launched_at, released_at"
)


def _entry(row: Record) -> QueueEntry:
    return QueueEntry(**{name: row[name] for name in QueueEntry.model_fields})


class RunQueueRepository(Repository):
    """The ``run_queue`` table."""

    table = "run_queue"
    kind = "queued run"

    def __init__(self, sql: SqlContext, runs: RunRepository) -> None:
        super().__init__(sql)
        self.runs = runs

    def _lock(self, conn: Connection) -> None:
        """Serialise the queue's counting transactions across servers (PostgreSQL)."""
        if not self.sql.sqlite:
            conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _ADVISORY_LOCK_KEY})

    def enqueue(
        self,
        request: PipelineRunRequest,
        *,
        source: str,
        schedule_id: str | None,
        max_queued: int,
    ) -> PipelineRunResponse:
        """Record ``request`` (status ``queued``) and its queue row in one transaction."""
        request = request.model_copy(update={"status": ExecutionStatus.QUEUED})

        def add_to_queue(conn: Connection) -> None:
            self._lock(conn)
            waiting = int(
                conn.scalar("SELECT COUNT(*) AS n FROM run_queue WHERE claimed_at IS NULL") or 0
            )
            if waiting >= max_queued:
                raise QueueFullError(
                    f"The server's run queue is full: {waiting} runs wait to start (at most "
                    f"{max_queued}, HEADRACE_SERVER_MAX_QUEUED_RUNS); nothing was created. "
                    "Retry when some have started.",
                    retry_after=1.0,
                )
            position = conn.scalar("SELECT MAX(position) AS n FROM run_queue")
            values = {
                "run_id": request.id,
                "position": int(position or 0) + 1,
                "source": source,
                "schedule_id": schedule_id,
                "enqueued_at": now(),
            }
            conn.run(insert_sql("run_queue", tuple(values)), values)

        return self.runs.create(request, within=add_to_queue)

    def claim(self, claimer: str, max_in_flight: int) -> list[QueueEntry]:
        """Take the oldest waiting rows, within the limit of rows in flight."""
        with self.sql.write() as conn:
            self._lock(conn)
            in_flight = int(
                conn.scalar(f"SELECT COUNT(*) AS n FROM run_queue WHERE {_IN_FLIGHT}") or 0
            )
            free = max_in_flight - in_flight
            if free <= 0:
                return []
            skip_locked = "" if self.sql.sqlite else " FOR UPDATE SKIP LOCKED"
            rows = conn.execute(
                "SELECT run_id FROM run_queue WHERE claimed_at IS NULL "
                f"ORDER BY position LIMIT :free{skip_locked}",
                {"free": free},
            )
            claimed_at = now()
            for row in rows:
                conn.run(
                    "UPDATE run_queue SET claimed_by = :claimer, claimed_at = :claimed_at "
                    "WHERE run_id = :run_id AND claimed_at IS NULL",
                    {"claimer": claimer, "claimed_at": claimed_at, "run_id": row.run_id},
                )
                # In flight from now on: the run-lifecycle rules watch it (a heartbeat
                # from the claim, so a server that dies before launching it does not
                # leave it waiting forever).
                conn.run(
                    "UPDATE pipeline_runs SET status = :status, heartbeat = :claimed_at, "
                    "start_time = :claimed_at WHERE id = :run_id AND status = :queued",
                    {
                        "status": ExecutionStatus.INITIALIZING.value,
                        "queued": ExecutionStatus.QUEUED.value,
                        "claimed_at": claimed_at,
                        "run_id": row.run_id,
                    },
                )
            if not rows:
                return []
            ids = {row.run_id for row in rows}
            claimed = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM run_queue WHERE claimed_by = :claimer "
                "AND released_at IS NULL ORDER BY position",
                {"claimer": claimer},
            )
        return [_entry(row) for row in claimed if row.run_id in ids]

    def record_launch(self, run_id: str, handle: str) -> None:
        """Keep the manager's handle of the run's runner."""
        with self.sql.write() as conn:
            conn.run(
                "UPDATE run_queue SET handle = :handle, launched_at = :launched_at "
                "WHERE run_id = :run_id",
                {"handle": handle, "launched_at": now(), "run_id": run_id},
            )

    def in_flight(self) -> list[QueueEntry]:
        """Rows claimed and not released, oldest first."""
        with self.sql.read() as conn:
            rows = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM run_queue WHERE {_IN_FLIGHT} ORDER BY position"
            )
        return [_entry(row) for row in rows]

    def release(self, run_id: str, runner_logs: str | None) -> None:
        """Free the row's slot; the first release keeps its logs (else the live chunks'
        text, when a server that cannot read the runner's output releases it), and
        the live chunks go."""
        with self.sql.write() as conn:
            if not runner_logs:
                rows = conn.execute(
                    "SELECT content FROM runner_log_chunks WHERE run_id = :run_id "
                    "ORDER BY start_byte",
                    {"run_id": run_id},
                )
                runner_logs = "".join(str(row.content) for row in rows) or None
            conn.run(
                "UPDATE run_queue SET released_at = :released_at, "
                "runner_logs = COALESCE(runner_logs, :logs) "
                "WHERE run_id = :run_id AND released_at IS NULL",
                {"released_at": now(), "logs": runner_logs, "run_id": run_id},
            )
            conn.run("DELETE FROM runner_log_chunks WHERE run_id = :run_id", {"run_id": run_id})

    def append_output(self, run_id: str, start_byte: int, content: str) -> None:
        """Keep one chunk of a running run's output (once per offset)."""
        with self.sql.write() as conn:
            conn.run(
                "INSERT INTO runner_log_chunks (run_id, start_byte, content) "
                "VALUES (:run_id, :start_byte, :content) "
                "ON CONFLICT (run_id, start_byte) DO NOTHING",
                {"run_id": run_id, "start_byte": start_byte, "content": content},
            )

    def live_output(self, run_id: str) -> str:
        """The chunks of a running run's output, in order (primary-key order)."""
        with self.sql.read() as conn:
            rows = conn.execute(
                "SELECT content FROM runner_log_chunks WHERE run_id = :run_id ORDER BY start_byte",
                {"run_id": run_id},
            )
        return "".join(str(row.content) for row in rows)

    def counts(self) -> tuple[int, int]:
        """Waiting rows and rows in flight."""
        with self.sql.read() as conn:
            row = conn.one(
                "SELECT SUM(CASE WHEN claimed_at IS NULL THEN 1 ELSE 0 END) AS waiting, "
                f"SUM(CASE WHEN {_IN_FLIGHT} THEN 1 ELSE 0 END) AS flying FROM run_queue"
            )
        return int(row.waiting or 0), int(row.flying or 0)

    def entry(self, run_id: str) -> QueueEntry | None:
        """The row of ``run_id``, if it has one."""
        with self.sql.read() as conn:
            row = conn.first(
                f"SELECT {_ENTRY_COLUMNS} FROM run_queue WHERE run_id = :run_id",
                {"run_id": run_id},
            )
        return _entry(row) if row is not None else None

    def runner_logs(self, run_id: str) -> str | None:
        """The runner output kept at release, if any."""
        with self.sql.read() as conn:
            value = conn.scalar(
                "SELECT runner_logs FROM run_queue WHERE run_id = :run_id", {"run_id": run_id}
            )
        return None if value is None else str(value)

    def stop_waiting(self, run_id: str) -> bool:
        """End a run still waiting in the queue (``stopped``, never launched); whether it
        was waiting. A row being claimed at this moment is left to the claim."""
        with self.sql.write() as conn:
            self._lock(conn)
            lock = "" if self.sql.sqlite else " FOR UPDATE SKIP LOCKED"
            row = conn.first(
                "SELECT run_id FROM run_queue WHERE run_id = :run_id AND claimed_at IS NULL" + lock,
                {"run_id": run_id},
            )
            if row is None:
                return False
            at = now()
            conn.run(
                "UPDATE run_queue SET claimed_by = :nobody, claimed_at = :at, released_at = :at "
                "WHERE run_id = :run_id",
                {"nobody": "(stopped while queued)", "at": at, "run_id": run_id},
            )
            conn.run(
                "UPDATE pipeline_runs SET status = :status, end_time = :at, "
                "status_reason = :reason WHERE id = :run_id AND status = :queued",
                {
                    "status": ExecutionStatus.STOPPED.value,
                    "queued": ExecutionStatus.QUEUED.value,
                    "at": at,
                    "reason": "Stopped while waiting in the server's queue; it never started.",
                    "run_id": run_id,
                },
            )
        return True

    def end_if_unended(self, run_id: str, status: ExecutionStatus, reason: str) -> bool:
        """End the run and its unended steps, unless the run ended first."""
        values = {"status": status.value, "end_time": now(), "reason": reason, "_id": run_id}
        with self.sql.write() as conn:
            changed = conn.run(
                "UPDATE pipeline_runs SET status = :status, end_time = :end_time, "
                f"status_reason = :reason WHERE id = :_id AND status IN ({_UNENDED_SQL})",
                values,
            )
            if not changed:
                return False
            conn.run(
                "UPDATE step_runs SET status = :status, end_time = :end_time, "
                "status_reason = :reason WHERE pipeline_run_id = :_id "
                f"AND status IN ({_UNENDED_SQL})",
                values,
            )
        return True
