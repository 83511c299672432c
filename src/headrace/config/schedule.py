"""When a pipeline runs by itself: a cron expression, a fixed interval, or once."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import model_validator

from headrace.config.base import ConfigModel

if TYPE_CHECKING:
    from headrace.config.schedule_times import Timing


class Schedule(ConfigModel):
    """A schedule for a pipeline: give exactly one of ``cron_expression``,
    ``interval_second`` or ``run_once_start_time``.

    ``my_pipeline.with_options(schedule=Schedule(...))()`` against a headrace server
    stores a snapshot of the pipeline and a schedule of it; the server's scheduler runs
    it. Cron expressions are evaluated in UTC; times without a timezone are local times.

    Attributes:
        name: name of the stored schedule (default: the pipeline's name and a short id).
        cron_expression: five-field cron expression, e.g. ``"0 2 * * *"`` (daily, 02:00 UTC).
        start_time: earliest fire time; for ``interval_second``, the first one
            (default: when the schedule is created).
        end_time: no fire time after it.
        interval_second: fire every this long (a ``timedelta`` or a number of seconds).
        catchup: fire times missed while the server was down all run after it starts
            (``True``), or only one run is made for them (``False``, the default).
        run_once_start_time: fire once, at this time (right away if it is past).
    """

    name: str | None = None
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: timedelta | None = None
    catchup: bool = False
    run_once_start_time: datetime | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Schedule":
        problems = self.timing().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def timing(self) -> "Timing":
        """The fields that decide the fire times, in UTC."""
        # Imported here: ``import headrace`` loads this module, and most runs have no
        # schedule.
        from headrace.config.schedule_times import Timing

        return Timing.of(
            cron_expression=self.cron_expression,
            start_time=self.start_time,
            end_time=self.end_time,
            interval_second=self.interval_second,
            run_once_start_time=self.run_once_start_time,
        )
