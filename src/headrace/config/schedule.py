"""When a pipeline runs by itself: a cron expression or a fixed interval."""

from datetime import datetime, timedelta

from pydantic import model_validator

from headrace.config.base import ConfigModel


class Schedule(ConfigModel):
    """A schedule for a pipeline: ``cron_expression``, or ``start_time`` + ``interval_second``."""

    name: str | None = None
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: timedelta | None = None
    catchup: bool = False
    run_once_start_time: datetime | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Schedule":
        if self.cron_expression is not None:
            from croniter import croniter

            if not croniter.is_valid(self.cron_expression):
                raise ValueError(
                    f"cron_expression {self.cron_expression!r} is not a valid cron expression"
                )
        elif self.interval_second is None and self.run_once_start_time is None:
            raise ValueError(
                "a schedule needs cron_expression, interval_second (with start_time) "
                "or run_once_start_time"
            )
        return self
