"""Schedules: which snapshot a server runs by itself, and when it fires next.

``next_run_time`` is the only thing the schedulers of several servers write at once:
each one moves it forward with a compare-and-set ``UPDATE ... WHERE id = ? AND
next_run_time = ?``, so of all the servers that saw a fire time come due, exactly one
changes the row and triggers the run (:meth:`ScheduleRepository.claim`).
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from headrace.config.schedule_times import Timing
from headrace.exceptions import EntityExistsError, ScheduleError
from headrace.models import Page, ScheduleFilter
from headrace.models.schedule import ScheduleRequest, ScheduleResponse, ScheduleUpdate
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, update_sql
from headrace.store.sql.repositories.base import Repository, new_id, now

_SELECT = (
    "SELECT schedules.*, snapshots.name AS snapshot_name, pipelines.name AS pipeline_name "
    "FROM schedules JOIN snapshots ON snapshots.id = schedules.snapshot_id "
    "JOIN pipelines ON pipelines.id = schedules.pipeline_id"
)
_TICK = timedelta(microseconds=1)
_TIMING_FIELDS = (
    "cron_expression",
    "start_time",
    "end_time",
    "interval_second",
    "run_once_start_time",
)


def check_timing(timing: Timing) -> None:
    """Refuse a schedule whose timing fields do not make one.

    Raises:
        ScheduleError: naming every field that is wrong.
    """
    problems = timing.problems()
    if problems:
        raise ScheduleError("Invalid schedule: " + "; ".join(problems) + ".")


class ScheduleRepository(Repository):
    """The ``schedules`` table (with the snapshot's and pipeline's names joined in)."""

    table = "schedules"
    kind = "schedule"
    fields = {
        "pipeline_id": "schedules.pipeline_id",
        "snapshot_id": "schedules.snapshot_id",
        "active": "schedules.active",
    }

    def to_model(self, row: Record) -> ScheduleResponse:
        """The response of one joined row."""
        return ScheduleResponse(
            id=row.id,
            created=row.created,
            updated=row.updated,
            name=row.name,
            snapshot_id=row.snapshot_id,
            snapshot_name=row.snapshot_name,
            pipeline_id=row.pipeline_id,
            pipeline_name=row.pipeline_name,
            cron_expression=row.cron_expression,
            start_time=row.start_time,
            end_time=row.end_time,
            interval_second=row.interval_second,
            run_once_start_time=row.run_once_start_time,
            catchup=row.catchup,
            active=row.active,
            next_run_time=row.next_run_time,
            last_run_time=row.last_run_time,
            run_configuration=row.run_configuration or {},
        ).attach(self.context)

    def create(self, request: ScheduleRequest) -> ScheduleResponse:
        """Store a schedule of an existing snapshot; its first fire time is computed now."""
        timing = request.timing()
        check_timing(timing)
        created = now()
        schedule_id = request.id or new_id()
        with self.sql.write() as conn:
            snapshot = conn.first(
                "SELECT id, name, pipeline_id FROM snapshots WHERE id = :id",
                {"id": request.snapshot_id},
            )
            if snapshot is None:
                raise ScheduleError(
                    f"Cannot schedule snapshot {request.snapshot_id!r}: no snapshot has that id."
                )
            if request.pipeline_id not in (None, snapshot.pipeline_id):
                raise ScheduleError(
                    f"pipeline_id {request.pipeline_id!r} is not the pipeline of snapshot "
                    f"{snapshot.name or snapshot.id!r} ({snapshot.pipeline_id})."
                )
            name = request.name or f"{snapshot.name or 'schedule'}-{schedule_id[:8]}"
            taken = conn.first("SELECT id FROM schedules WHERE name = :name", {"name": name})
            if taken is not None:
                raise EntityExistsError(
                    f"A schedule named {name!r} already exists (id {taken.id}); choose another "
                    f"name, or delete it first (headrace pipeline schedule delete {name})."
                )
            values: dict[str, Any] = {
                "id": schedule_id,
                "name": name,
                "pipeline_id": snapshot.pipeline_id,
                "snapshot_id": snapshot.id,
                **_timing_values(timing),
                "catchup": request.catchup,
                "active": request.active,
                "next_run_time": timing.first_fire_time(created),
                "last_run_time": None,
                "run_configuration": request.run_configuration,
                "created": created,
                "updated": created,
            }
            conn.run(insert_sql(self.table, tuple(values)), values)
        return self.get(schedule_id)

    def get(self, name_or_id: str) -> ScheduleResponse:
        """A schedule by name, id or unique id prefix."""
        with self.sql.read() as conn:
            row = self.find(conn, name_or_id)
            return self.to_model(conn.one(f"{_SELECT} WHERE schedules.id = :_id", {"_id": row.id}))

    def list(self, filter_model: ScheduleFilter) -> Page[ScheduleResponse]:
        """Schedules matching the filter."""
        with self.sql.read() as conn:
            return self.page(conn, Query(_SELECT, self.table), filter_model, self.to_model)

    def update(self, name_or_id: str, update: ScheduleUpdate) -> ScheduleResponse:
        """Pause, resume, rename, retime or reconfigure a schedule (see ``ScheduleUpdate``)."""
        changes = update.model_dump(exclude_unset=True)
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            values: dict[str, Any] = {}
            if changes.get("name") is not None and changes["name"] != row.name:
                _check_free_name(conn, changes["name"])
                values["name"] = changes["name"]
            for key in ("catchup", "run_configuration", "active"):
                if changes.get(key) is not None:
                    values[key] = changes[key]
            retimed = bool(set(changes) & set(_TIMING_FIELDS))
            resumed = changes.get("active") is True and not row.active
            if retimed or resumed:
                merged = {field: row[field] for field in _TIMING_FIELDS}
                merged.update({k: v for k, v in changes.items() if k in _TIMING_FIELDS})
                timing = Timing.of(**merged)
                check_timing(timing)
                values.update(_timing_values(timing))
                # Fire times passed while paused (or under the old timing) are skipped.
                values["next_run_time"] = _next_from(timing, row, now())
            if values:
                values["updated"] = now()
                conn.run(update_sql(self.table, tuple(values)), {**values, "_id": row.id})
        return self.get(row.id)

    def delete(self, name_or_id: str) -> None:
        """Remove a schedule; its snapshot and runs stay."""
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            conn.run("DELETE FROM schedules WHERE id = :_id", {"_id": row.id})

    # -- the scheduler's side -----------------------------------------------------------
    def due(self, moment: datetime, limit: int = 100) -> builtins.list[ScheduleResponse]:
        """Active schedules whose next fire time is at or before ``moment``, oldest first."""
        with self.sql.read() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE schedules.active = :active AND schedules.next_run_time "
                "IS NOT NULL AND schedules.next_run_time <= :moment "
                "ORDER BY schedules.next_run_time LIMIT :limit",
                {"active": True, "moment": moment, "limit": limit},
            )
        return [self.to_model(row) for row in rows]

    def claim(self, schedule_id: str, fire_time: datetime, next_run_time: datetime | None) -> bool:
        """Move a due schedule from ``fire_time`` to ``next_run_time``, if no one else did.

        Returns whether this call won: only the winner triggers the run of ``fire_time``.
        """
        values = {
            "next_run_time": next_run_time,
            "last_run_time": fire_time,
            "updated": now(),
            "_id": schedule_id,
            "_expected": fire_time,
            "_active": True,
        }
        sql = update_sql(
            self.table,
            ("next_run_time", "last_run_time", "updated"),
            "id = :_id AND next_run_time = :_expected AND active = :_active",
        )
        with self.sql.write() as conn:
            return conn.run(sql, values) == 1


def _timing_values(timing: Timing) -> dict[str, Any]:
    return {field: getattr(timing, field) for field in _TIMING_FIELDS}


def _next_from(timing: Timing, row: Record, moment: datetime) -> datetime | None:
    """The first fire time at or after ``moment`` under ``timing``."""
    if timing.run_once_start_time is not None:
        # Once fired, a run-once schedule stays done unless its time is set anew.
        if row.last_run_time is not None and timing.run_once_start_time == (
            row.run_once_start_time
        ):
            return None
        return timing.run_once_start_time
    return timing.fire_time_after(moment - _TICK, row.created)


def _check_free_name(conn: Connection, name: str) -> None:
    taken = conn.first("SELECT id FROM schedules WHERE name = :name", {"name": name})
    if taken is not None:
        raise EntityExistsError(f"A schedule named {name!r} already exists (id {taken.id}).")
