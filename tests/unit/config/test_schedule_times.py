"""Fire times of cron, interval and run-once schedules, and the refusals naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headrace.config import Schedule
from headrace.config.schedule_times import Timing

NOW = datetime(2030, 3, 4, 10, 17, 30, tzinfo=UTC)


def test_cron_fires_at_its_next_match_in_utc_and_stops_at_end_time() -> None:
    timing = Schedule(
        cron_expression="0 2 * * *", end_time=datetime(2030, 3, 6, 3, tzinfo=UTC)
    ).timing()
    first = timing.first_fire_time(NOW)
    assert first == datetime(2030, 3, 5, 2, tzinfo=UTC)
    assert timing.fire_time_after(first, NOW) == datetime(2030, 3, 6, 2, tzinfo=UTC)
    assert timing.fire_time_after(datetime(2030, 3, 6, 2, tzinfo=UTC), NOW) is None


def test_cron_waits_for_its_start_time_and_a_match_on_it_counts() -> None:
    start = datetime(2030, 4, 1, 2, tzinfo=UTC)
    timing = Schedule(cron_expression="0 2 * * *", start_time=start).timing()
    assert timing.first_fire_time(NOW) == start


def test_an_interval_fires_at_start_plus_multiples_and_skips_missed_ones() -> None:
    start = NOW - timedelta(seconds=95)
    timing = Schedule(start_time=start, interval_second=timedelta(seconds=30)).timing()
    # The first fire time at or after now: start + 4 * 30 s.
    assert timing.first_fire_time(NOW) == start + timedelta(seconds=120)
    assert timing.fire_time_after(NOW, NOW) == start + timedelta(seconds=120)
    exact = start + timedelta(seconds=60)
    assert timing.fire_time_after(exact, NOW) == start + timedelta(seconds=90)


def test_an_interval_without_start_time_starts_when_created() -> None:
    timing = Timing.of(interval_second=10)
    assert timing.first_fire_time(NOW) == NOW
    assert timing.fire_time_after(NOW, NOW) == NOW + timedelta(seconds=10)


def test_run_once_fires_once_even_when_its_time_is_past() -> None:
    past = NOW - timedelta(hours=1)
    timing = Schedule(run_once_start_time=past).timing()
    assert timing.first_fire_time(NOW) == past
    assert timing.fire_time_after(past, NOW) is None


def test_naive_times_are_local_times() -> None:
    local = datetime(2030, 1, 1, 12, 0)
    timing = Schedule(run_once_start_time=local).timing()
    assert timing.run_once_start_time == local.astimezone().astimezone(UTC)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron_expression": "every day at two"}, "cron_expression 'every day at two'"),
        ({"cron_expression": "61 * * * *"}, "cron_expression"),
        ({"interval_second": 0}, "interval_second must be more than 0"),
        ({"interval_second": timedelta(seconds=-1)}, "interval_second must be more than 0"),
        ({}, "needs one of cron_expression"),
        (
            {"cron_expression": "0 2 * * *", "run_once_start_time": NOW},
            "got cron_expression and run_once_start_time",
        ),
        (
            {"interval_second": 5, "start_time": NOW, "end_time": NOW - timedelta(seconds=1)},
            "end_time .* must be after start_time",
        ),
        ({"run_once_start_time": NOW, "end_time": NOW}, "do not apply to run_once_start_time"),
    ],
)
def test_invalid_schedules_are_refused_when_made(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**fields)  # type: ignore[arg-type]
