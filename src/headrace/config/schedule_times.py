"""When a schedule fires: checking its fields and computing its fire times.

One place for the rules that the ``Schedule`` model (in the user's code), the store
(a schedule sent over REST) and the server's scheduler all apply:

* exactly one kind: ``cron_expression``, ``interval_second`` or ``run_once_start_time``;
* cron expressions are evaluated in UTC; ``start_time`` (optional) is the earliest fire
  time, ``end_time`` (optional) the latest; an interval schedule fires at
  ``start_time + k * interval_second`` (``start_time`` defaults to the creation time);
* times without a timezone are the local time of the machine that reads them.

``croniter`` is imported only when a cron expression is checked or evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

KINDS = ("cron_expression", "interval_second", "run_once_start_time")


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time (a naive time is taken as local time)."""
    if value.tzinfo is None:
        value = value.astimezone()  # the local timezone of this machine
    return value.astimezone(UTC)


def seconds_of(value: timedelta | float | int | None) -> float | None:
    """An interval as seconds (``timedelta`` or a number)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@dataclass(frozen=True)
class Timing:
    """The fields of a schedule that decide its fire times (UTC, interval in seconds)."""

    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: float | None = None
    run_once_start_time: datetime | None = None

    @classmethod
    def of(
        cls,
        cron_expression: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        interval_second: timedelta | float | int | None = None,
        run_once_start_time: datetime | None = None,
    ) -> Timing:
        """A timing from user values: times to UTC, the interval to seconds."""
        return cls(
            cron_expression=cron_expression,
            start_time=as_utc(start_time) if start_time else None,
            end_time=as_utc(end_time) if end_time else None,
            interval_second=seconds_of(interval_second),
            run_once_start_time=as_utc(run_once_start_time) if run_once_start_time else None,
        )

    def problems(self) -> list[str]:
        """What is wrong with these fields, each naming the field; empty when valid."""
        given = [
            kind
            for kind, value in (
                ("cron_expression", self.cron_expression),
                ("interval_second", self.interval_second),
                ("run_once_start_time", self.run_once_start_time),
            )
            if value is not None
        ]
        if not given:
            return [
                "a schedule needs one of cron_expression (e.g. '0 2 * * *'), interval_second "
                "(with an optional start_time) or run_once_start_time"
            ]
        if len(given) > 1:
            return [
                f"a schedule takes one of cron_expression, interval_second and "
                f"run_once_start_time; got {' and '.join(given)}"
            ]
        problems = []
        if self.cron_expression is not None and not _valid_cron(self.cron_expression):
            problems.append(
                f"cron_expression {self.cron_expression!r} is not a valid cron expression "
                "(five fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *')"
            )
        if self.interval_second is not None and not self.interval_second > 0:
            problems.append(
                f"interval_second must be more than 0 seconds, got {self.interval_second:g}"
            )
        if self.run_once_start_time is not None and (self.start_time or self.end_time):
            problems.append(
                "start_time and end_time do not apply to run_once_start_time (it fires once)"
            )
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            problems.append(
                f"end_time ({self.end_time.isoformat()}) must be after start_time "
                f"({self.start_time.isoformat()})"
            )
        return problems

    # -- fire times ---------------------------------------------------------------------
    def first_fire_time(self, now: datetime) -> datetime | None:
        """The first fire time at or after ``now`` (``None``: it never fires)."""
        if self.run_once_start_time is not None:
            return self.run_once_start_time  # in the past: fires once, right away
        start = max(now, self.start_time) if self.start_time else now
        return self._bounded(self._at_or_after(start, now))

    def fire_time_after(self, moment: datetime, created: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (``None``: no more)."""
        if self.run_once_start_time is not None:
            return None
        if self.start_time and moment < self.start_time:
            return self._bounded(self._at_or_after(self.start_time, created))
        return self._bounded(self._after(moment, created))

    def _at_or_after(self, moment: datetime, created: datetime) -> datetime:
        return self._after(moment - timedelta(microseconds=1), created)

    def _after(self, moment: datetime, created: datetime) -> datetime:
        if self.cron_expression is not None:
            from croniter import croniter

            result: datetime = croniter(self.cron_expression, moment).get_next(datetime)
            return result.astimezone(UTC)
        assert self.interval_second is not None
        origin = self.start_time or created
        if moment < origin:
            return origin
        step = timedelta(seconds=self.interval_second)
        count = (moment - origin) // step + 1
        return origin + count * step

    def _bounded(self, moment: datetime) -> datetime | None:
        if self.end_time is not None and moment > self.end_time:
            return None
        return moment


def _valid_cron(expression: str) -> bool:
    from croniter import croniter

    try:
        return bool(croniter.is_valid(expression))
    except Exception:  # croniter raises assorted errors for odd input
        return False
