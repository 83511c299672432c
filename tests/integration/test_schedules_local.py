"""A schedule with a local store (no server) is refused before anything is stored, and
says how to start and connect to a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import pipeline, step
from headrace.client import Client
from headrace.config import Schedule
from headrace.exceptions import ConfigurationError, ScheduleError


@step
def hello() -> str:
    return "hi"


@pipeline
def greeting() -> None:
    hello()


def test_a_schedule_on_a_local_store_is_refused_with_how_to_start_a_server(repo: Path) -> None:
    with pytest.raises(ScheduleError) as caught:
        greeting.with_options(schedule=Schedule(cron_expression="0 2 * * *"))()
    message = str(caught.value)
    assert "Pipeline 'greeting' was given a schedule" in message
    assert "headrace server start" in message and "headrace login" in message
    with pytest.raises(ScheduleError, match="only a headrace server runs schedules"):
        greeting.run(schedule=Schedule(interval_second=60))
    client = Client()
    assert client.list_snapshots().total == 0  # nothing was stored
    assert client.list_pipeline_runs().total == 0


def test_an_invalid_schedule_is_refused_by_with_options_naming_the_field(repo: Path) -> None:
    with pytest.raises(ValueError, match="cron_expression 'tomorrow'"):
        greeting.with_options(schedule=Schedule(cron_expression="tomorrow"))
    with pytest.raises(ConfigurationError, match="interval_second"):
        greeting.with_options(schedule={"interval_second": 0})
