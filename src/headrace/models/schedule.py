"""Schedules: a snapshot that a headrace server runs by itself at its fire times."""

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.config.schedule_times import Timing
from headrace.models.base import RequestModel, ResponseModel
from headrace.utils.factories import new_dict


class ScheduleRequest(RequestModel):
    """A schedule to store: which snapshot runs, when, and with what run configuration.

    Exactly one of ``cron_expression``, ``interval_second`` (seconds) and
    ``run_once_start_time``; the store refuses anything else with ``ScheduleError``.
    ``pipeline_id`` is the snapshot's pipeline (filled in when left out).
    """

    id: str | None = None
    name: str | None = None
    snapshot_id: str
    pipeline_id: str | None = None
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: float | None = None
    run_once_start_time: datetime | None = None
    catchup: bool = False
    active: bool = True
    run_configuration: dict[str, Any] = Field(default_factory=new_dict)

    def timing(self) -> Timing:
        """The fields that decide the fire times."""
        return Timing.of(
            self.cron_expression,
            self.start_time,
            self.end_time,
            self.interval_second,
            self.run_once_start_time,
        )


class ScheduleUpdate(RequestModel):
    """Changes to a schedule; only the fields sent change (``{"active": false}`` pauses).

    Changed timing fields are checked again as a whole, and the next fire time is
    computed anew; resuming a paused schedule skips the fire times it missed.
    """

    name: str | None = None
    active: bool | None = None
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: float | None = None
    run_once_start_time: datetime | None = None
    catchup: bool | None = None
    run_configuration: dict[str, Any] | None = None


class ScheduleResponse(ResponseModel):
    """A stored schedule, with when it fires next (``None``: it will not fire again)."""

    name: str
    snapshot_id: str
    snapshot_name: str | None = None
    pipeline_id: str
    pipeline_name: str | None = None
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: float | None = None
    run_once_start_time: datetime | None = None
    catchup: bool = False
    active: bool = True
    next_run_time: datetime | None = None
    last_run_time: datetime | None = None
    run_configuration: dict[str, Any] = Field(default_factory=new_dict)
    updated: datetime

    def timing(self) -> Timing:
        """The fields that decide the fire times."""
        return Timing.of(
            self.cron_expression,
            self.start_time,
            self.end_time,
            self.interval_second,
            self.run_once_start_time,
        )

    @property
    def kind(self) -> str:
        """``cron``, ``interval`` or ``once``."""
        if self.cron_expression is not None:
            return "cron"
        return "interval" if self.interval_second is not None else "once"

    @property
    def finished(self) -> bool:
        """Whether it will not fire again (past its end time, or its one run made)."""
        return self.next_run_time is None

    @property
    def snapshot(self) -> Any:
        """The snapshot this schedule runs."""
        return self.store.get_snapshot(self.snapshot_id)

    @property
    def runs(self) -> list[Any]:
        """Runs of the scheduled snapshot, newest first."""
        return list(self.snapshot.runs)
