"""Schedules on a real ``headrace server``: made from Python (``with_options`` and
``run(schedule=...)``), fired by the server's scheduler, managed with the CLI and REST,
caught up after a restart, and fired once per fire time by two servers on one
PostgreSQL database."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from server_project import client_environment, create_snapshot_remotely, write_project

from headrace_server import HeadraceServer

FAST_POLL = {"HEADRACE_SERVER_SCHEDULER_POLL_SECONDS": "0.2"}
FINISHED = ("completed", "failed", "stopped")

SCHEDULE_FROM_PYTHON = textwrap.dedent(
    """
    from datetime import timedelta

    from headrace.config import Schedule
    from run import training_pipeline

    every = training_pipeline.with_options(
        schedule=Schedule(name="every-2s", interval_second=timedelta(seconds=2))
    )()
    print("EVERY", every.id, every.snapshot_name, every.kind)
    nightly = training_pipeline.run(schedule=Schedule(cron_expression="0 2 * * *"))
    print("NIGHTLY", nightly.id, nightly.name, nightly.next_run_time.isoformat())
    """
)


def _cli(server: HeadraceServer, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", *args],
        cwd=project,
        env=client_environment(server, COLUMNS="400"),  # tables unfolded, names whole
        capture_output=True,
        text=True,
        timeout=180,
    )


def _runs_of(server: HeadraceServer, snapshot_id: str) -> list[dict[str, Any]]:
    page = server.http.get(
        f"{server.url}/api/v1/runs", params={"snapshot_id": snapshot_id, "size": 200}
    ).json()
    return list(page["items"])


def _wait_for(condition: Any, timeout: float, what: str, server: HeadraceServer) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s:\n{server.log()}")


def _all_finished(server: HeadraceServer, snapshot_id: str) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        runs = _runs_of(server, snapshot_id)
        return runs if all(run["status"] in FINISHED for run in runs) else None

    return list(_wait_for(done, 240, "every scheduled run finishing", server))


def test_a_pipeline_scheduled_from_python_runs_and_is_managed_with_the_cli(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = HeadraceServer(tmp_path, template=migrated_sqlite, env=FAST_POLL)
    try:
        project = write_project(tmp_path)
        made = subprocess.run(
            [sys.executable, "-c", SCHEDULE_FROM_PYTHON],
            cwd=project,
            env=client_environment(server),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        out = made.stdout + made.stderr
        assert "Scheduled pipeline 'training_pipeline': schedule 'every-2s'" in out
        assert "every 2 s" in out and "cron '0 2 * * *' (UTC)" in out
        every_id, snapshot_name, kind = next(
            line.split()[1:] for line in made.stdout.splitlines() if line.startswith("EVERY")
        )
        assert (snapshot_name, kind) == ("every-2s", "interval")
        nightly_name = next(
            line.split()[2] for line in made.stdout.splitlines() if line.startswith("NIGHTLY")
        )
        api = f"{server.url}/api/v1"
        every = server.http.get(f"{api}/schedules/{every_id}").json()
        snapshot = server.http.get(f"{api}/pipeline_snapshots/{every['snapshot_id']}").json()
        assert snapshot["name"] == "every-2s" and snapshot["runnable"]

        # The server's scheduler starts runs of the snapshot, each noting its fire time.
        runs = _wait_for(
            lambda: [r for r in _runs_of(server, snapshot["id"]) if r["status"] == "completed"],
            180,
            "a scheduled run completing",
            server,
        )
        assert runs[0]["run_metadata"]["schedule_id"] == every_id

        listing = _cli(server, project, "pipeline", "schedule", "list")
        assert listing.returncode == 0, listing.stderr
        assert "every-2s" in listing.stdout and nightly_name in listing.stdout
        assert "every 2 s" in listing.stdout

        paused = _cli(server, project, "pipeline", "schedule", "pause", "every-2s")
        assert paused.returncode == 0, paused.stderr
        assert "Paused schedule 'every-2s'" in paused.stdout
        paused_at = datetime.now(UTC)
        assert server.http.get(f"{api}/schedules/{every_id}").json()["active"] is False
        time.sleep(3.0)  # a paused schedule does not fire (a fire claimed before may land)
        fire_times = [
            datetime.fromisoformat(run["run_metadata"]["schedule_fire_time"])
            for run in _runs_of(server, snapshot["id"])
        ]
        assert max(fire_times) <= paused_at
        before = len(fire_times)
        described = _cli(server, project, "pipeline", "schedule", "describe", "every-2s")
        assert described.returncode == 0, described.stderr
        assert "paused" in described.stdout and "snapshot:" in described.stdout

        resumed = _cli(server, project, "pipeline", "schedule", "resume", every_id[:8])
        assert resumed.returncode == 0, resumed.stderr
        assert "Resumed schedule 'every-2s'; next run at" in resumed.stdout
        _wait_for(
            lambda: len(_runs_of(server, snapshot["id"])) > before,
            60,
            "a run after resuming",
            server,
        )
        server.http.put(f"{api}/schedules/{every_id}", json={"active": False}).raise_for_status()

        deleted = _cli(server, project, "pipeline", "schedule", "delete", "every-2s", "--yes")
        assert deleted.returncode == 0, deleted.stderr
        assert server.http.get(f"{api}/schedules/{every_id}").status_code == 404
        missing = _cli(server, project, "pipeline", "schedule", "describe", "every-2s")
        assert missing.returncode == 1 and "No schedule has the name or id" in missing.stderr
        # The snapshot and its runs stay.
        assert server.http.get(f"{api}/pipeline_snapshots/every-2s").status_code == 200
        _all_finished(server, snapshot["id"])
    finally:
        server.stop()


def test_rest_refuses_bad_timings_and_viewers_only_read(
    headrace_server: HeadraceServer, tmp_path: Path
) -> None:
    server = headrace_server
    api = f"{server.url}/api/v1"
    project = write_project(tmp_path)
    create_snapshot_remotely(server, project, "nightly")
    bad = server.http.post(
        f"{api}/schedules", json={"snapshot_id": "nightly", "cron_expression": "99 * * * *"}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"] == "ScheduleError" and "cron_expression" in bad.json()["detail"]
    two_kinds = server.http.post(
        f"{api}/schedules",
        json={"snapshot_id": "nightly", "cron_expression": "0 2 * * *", "interval_second": 60},
    )
    assert two_kinds.status_code == 422 and "interval_second" in two_kinds.json()["detail"]
    wrong_config = server.http.post(
        f"{api}/schedules",
        json={
            "snapshot_id": "nightly",
            "interval_second": 60,
            "run_configuration": {"steps": {"nope": {}}},
        },
    )
    assert wrong_config.status_code == 422 and "nope" in wrong_config.text

    made = server.http.post(
        f"{api}/schedules",
        json={"name": "hourly", "snapshot_id": "nightly", "cron_expression": "0 * * * *"},
    )
    assert made.status_code == 201, made.text
    schedule = made.json()

    server.http.post(
        f"{api}/users", json={"name": "vera", "role": "viewer", "password": "vera-password-1"}
    ).raise_for_status()
    viewer = {"Authorization": f"Bearer {server.token('vera', 'vera-password-1')}"}
    listed = httpx.get(f"{api}/schedules", params={"active": "true"}, headers=viewer)
    assert listed.status_code == 200 and [s["name"] for s in listed.json()["items"]] == ["hourly"]
    assert httpx.get(f"{api}/schedules/hourly", headers=viewer).status_code == 200
    put = httpx.put(f"{api}/schedules/hourly", json={"active": False}, headers=viewer)
    assert put.status_code == 403
    assert httpx.delete(f"{api}/schedules/hourly", headers=viewer).status_code == 403
    created = httpx.post(
        f"{api}/schedules", json={"snapshot_id": "nightly", "interval_second": 5}, headers=viewer
    )
    assert created.status_code == 403
    assert httpx.get(f"{api}/schedules").status_code == 401

    paused = server.http.put(f"{api}/schedules/{schedule['id']}", json={"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert server.http.get(f"{api}/schedules", params={"active": "false"}).json()["total"] == 1
    assert server.http.delete(f"{api}/schedules/hourly").status_code == 204
    assert server.http.delete(f"{api}/schedules/hourly").status_code == 404

    document = server.http.get(f"{server.url}/openapi.json").json()
    assert {"get", "post"} <= set(document["paths"]["/api/v1/schedules"])
    assert {"get", "put", "delete"} <= set(document["paths"]["/api/v1/schedules/{name_or_id}"])


def test_fire_times_missed_while_the_server_was_down_run_once_after_it_starts(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = HeadraceServer(tmp_path, template=migrated_sqlite, env=FAST_POLL)
    database = server.database_url
    try:
        project = write_project(tmp_path)
        create_snapshot_remotely(server, project, "nightly")
        start = datetime.now(UTC) + timedelta(seconds=2)
        made = server.http.post(
            f"{server.url}/api/v1/schedules",
            json={
                "name": "every-2s",
                "snapshot_id": "nightly",
                "interval_second": 2,
                "start_time": start.isoformat(),
            },
        )
        assert made.status_code == 201, made.text
        schedule = made.json()
    finally:
        server.stop()
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 5)  # 3 fire times missed
    restarted_at = datetime.now(UTC)
    server = HeadraceServer(tmp_path, database, env=FAST_POLL)
    try:
        api = f"{server.url}/api/v1"
        snapshot_id = schedule["snapshot_id"]
        _wait_for(lambda: _runs_of(server, snapshot_id), 30, "the catch-up run", server)
        server.http.put(f"{api}/schedules/every-2s", json={"active": False}).raise_for_status()
        runs = _all_finished(server, snapshot_id)
        fire_times = [
            datetime.fromisoformat(run["run_metadata"]["schedule_fire_time"]) for run in runs
        ]
        missed = [moment for moment in fire_times if moment < restarted_at]
        assert missed == [datetime.fromisoformat(schedule["next_run_time"])]
        after = server.http.get(f"{api}/schedules/every-2s").json()
        assert datetime.fromisoformat(after["next_run_time"]) > restarted_at
    finally:
        server.stop()


def test_two_servers_on_one_postgresql_fire_each_fire_time_once(
    tmp_path: Path, postgres_url: str
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = HeadraceServer(tmp_path / "a", postgres_url, env=FAST_POLL)
    second = None
    try:
        second = HeadraceServer(tmp_path / "b", postgres_url, env=FAST_POLL)
        project = write_project(tmp_path)
        create_snapshot_remotely(first, project, "nightly")
        made = first.http.post(
            f"{first.url}/api/v1/schedules",
            json={"name": "every-second", "snapshot_id": "nightly", "interval_second": 1},
        )
        assert made.status_code == 201, made.text
        snapshot_id = made.json()["snapshot_id"]
        time.sleep(6.0)
        second.http.put(
            f"{second.url}/api/v1/schedules/every-second", json={"active": False}
        ).raise_for_status()
        runs = _all_finished(first, snapshot_id)
        per_fire_time = Counter(run["run_metadata"]["schedule_fire_time"] for run in runs)
        assert len(per_fire_time) >= 4, per_fire_time
        assert set(per_fire_time.values()) == {1}, per_fire_time
        moments = sorted(datetime.fromisoformat(value) for value in per_fire_time)
        gaps = [round((b - a).total_seconds(), 3) for a, b in itertools.pairwise(moments)]
        # Fire times of one schedule, one second apart (a poll delayed past a fire time
        # on a busy machine skips to the next one; none is ever run twice).
        assert all(gap >= 1.0 and gap.is_integer() for gap in gaps), moments
        assert all(run["status"] == "completed" for run in runs), runs
    finally:
        if second is not None:
            second.stop()
        first.stop()
