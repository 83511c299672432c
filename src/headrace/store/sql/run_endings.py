"""Ending runs whose driver is gone, as the SQL store reads them.

Every read of a run that has not ended (``get_run``, ``list_runs``) asks
``headrace.store.run_liveness.driver_gone``; when the driver is gone, the run and its
unended step runs are marked ``failed`` with the reason, in one transaction that only
changes rows still unended (a driver that recorded the end first wins). A store that
cannot be written (read-only) still shows the run as failed to its reader.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from headrace.enums import ExecutionStatus
from headrace.exceptions import StoreError
from headrace.store.run_liveness import driver_gone
from headrace.store.sql.database import Connection, Record

UNENDED = frozenset(
    {
        ExecutionStatus.INITIALIZING.value,
        ExecutionStatus.PROVISIONING.value,
        ExecutionStatus.RUNNING.value,
        ExecutionStatus.RETRYING.value,
        ExecutionStatus.STOPPING.value,
    }
)
_UNENDED_SQL = ", ".join(f"'{value}'" for value in sorted(UNENDED))


def ended_if_orphaned(
    row: Record,
    write: Callable[[], AbstractContextManager[Connection]],
    select_run: str,
) -> Record:
    """``row`` (a ``pipeline_runs`` row), ended as failed when its driver is gone."""
    if row.status not in UNENDED:
        return row
    now = datetime.now(UTC)
    reason = driver_gone(
        row.id,
        row.status != ExecutionStatus.INITIALIZING.value,
        row.driver_host,
        row.driver_pid,
        row.driver_started,
        row.heartbeat,
        row.created,
        now,
    )
    if reason is None:
        return row
    reason = f"The run was ended when read: {reason}."
    values = {
        "status": ExecutionStatus.FAILED.value,
        "end_time": now,
        "status_reason": reason,
        "_id": row.id,
    }
    try:
        with write() as conn:
            conn.run(
                "UPDATE pipeline_runs SET status = :status, end_time = :end_time, "
                f"status_reason = :status_reason WHERE id = :_id AND status IN ({_UNENDED_SQL})",
                values,
            )
            conn.run(
                "UPDATE step_runs SET status = :status, end_time = :end_time, "
                "status_reason = :status_reason WHERE pipeline_run_id = :_id "
                f"AND status IN ({_UNENDED_SQL})",
                values,
            )
            fresh = conn.first(f"{select_run} WHERE pipeline_runs.id = :_id", {"_id": row.id})
    except StoreError:  # a read-only store: show the run as it would be recorded
        fresh = None
    if fresh is not None:
        return fresh
    shown = row.as_dict()
    shown.update(status=values["status"], end_time=now, status_reason=reason)
    return Record(shown)
