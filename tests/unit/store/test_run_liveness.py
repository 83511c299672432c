"""Judging whether a run's driver is gone: pids, zombies, reused pids, heartbeats."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from headrace.store import run_liveness
from headrace.store.run_liveness import (
    driver_gone,
    heartbeat_timeout,
    process_alive,
    process_started,
    this_host,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_this_process_is_alive_and_has_a_start_time() -> None:
    started = process_started(os.getpid())
    assert process_alive(os.getpid(), started)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_reused_pid_is_not_the_driver() -> None:
    assert not process_alive(os.getpid(), "1")  # another start time: another process


def test_an_ended_process_and_a_zombie_are_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_started(child.pid)
    while child.poll() is None and process_alive(child.pid, started):
        pass  # exits at once; unreaped it is a zombie, which counts as gone
    assert not process_alive(child.pid, started)
    child.wait()
    assert not process_alive(child.pid, started)


def test_heartbeat_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert heartbeat_timeout() == 60.0
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "2.5")
    assert heartbeat_timeout() == 2.5
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="HEADRACE_RUN_HEARTBEAT_TIMEOUT='soon'"):
        heartbeat_timeout()
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "0")
    with pytest.raises(ValueError, match="more than 0"):
        heartbeat_timeout()


def test_a_remote_driver_is_judged_by_its_heartbeat() -> None:
    fresh = NOW - timedelta(seconds=59)
    stale = NOW - timedelta(seconds=61)
    assert driver_gone("r", True, "elsewhere", 10, None, fresh, stale, NOW) is None
    reason = driver_gone("r", True, "elsewhere", 10, None, stale, stale, NOW)
    assert reason is not None and "no heartbeat for more than 60 s" in reason
    # No heartbeat yet: the run's creation counts.
    assert driver_gone("r", False, None, None, None, None, stale, NOW) is not None


def test_a_run_this_process_drives_is_alive_until_it_stops_driving() -> None:
    pid, host = os.getpid(), this_host()
    assert driver_gone("mine", True, host, pid, None, NOW, NOW, NOW) is not None
    run_liveness.start_driving("mine")
    try:
        old = NOW - timedelta(days=1)  # even without a recent heartbeat
        assert driver_gone("mine", True, host, pid, None, old, old, NOW) is None
    finally:
        run_liveness.stop_driving("mine")
    # A run still initializing here (a trigger that is starting its runner) waits.
    assert driver_gone("mine", False, host, pid, None, NOW, NOW, NOW) is None
