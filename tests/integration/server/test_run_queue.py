"""The server's run queue, against real servers and real runner processes: FIFO order,
the limits (from the runs' recorded times), 429 creating nothing, stop of queued and
running runs, a server restart with queued runs, a runner killed with SIGKILL, the
runner timeout, and malformed settings refused at start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from queue_project import (
    create_napping_snapshot,
    get_run,
    list_runs,
    most_in_flight,
    trigger,
    wait_for,
)
from server_project import client_environment

from headrace_server import HeadraceServer


def _server(tmp_path: Path, template: Path, *args: str, **env: str) -> HeadraceServer:
    return HeadraceServer(tmp_path, template=template, extra_args=list(args), env=env)


def test_fifo_within_the_limit_and_a_full_queue_answers_429_creating_nothing(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = _server(
        tmp_path, migrated_sqlite, "--max-concurrent-runs", "1", "--max-queued-runs", "3"
    )
    try:
        create_napping_snapshot(server, tmp_path)
        first = trigger(server, 3.0)
        assert first.status_code == 201 and first.json()["status"] == "queued"
        wait_for(server, first.json()["id"], ("running",))
        waiting = [trigger(server) for _ in range(3)]
        assert [a.status_code for a in waiting] == [201] * 3
        queued = list_runs(server, status="queued")
        assert {r["id"] for r in queued} == {a.json()["id"] for a in waiting}

        refused = trigger(server)
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error"] == "QueueFullError"
        assert "HEADRACE_SERVER_MAX_QUEUED_RUNS" in refused.json()["detail"]
        assert len(list_runs(server)) == 4  # nothing was created

        ended = [wait_for(server, a.json()["id"]) for a in [first, *waiting]]
        assert [r["status"] for r in ended] == ["completed"] * 4, server.log()
        starts = [r["start_time"] for r in ended]
        assert starts == sorted(starts)  # first in, first out
        assert most_in_flight(ended) == 1
    finally:
        server.stop()


def test_stop_a_queued_run_over_rest_and_a_running_one_with_the_cli(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = _server(tmp_path, migrated_sqlite, "--max-concurrent-runs", "1")
    try:
        create_napping_snapshot(server, tmp_path)
        running = trigger(server, 120.0).json()
        wait_for(server, running["id"], ("running",))
        queued = trigger(server).json()
        assert get_run(server, queued["id"])["status"] == "queued"

        answer = server.http.post(
            f"{server.url}/api/v1/runs/{queued['id']}/stop", json={"graceful": False}
        )
        assert answer.status_code == 200, answer.text
        stopped = answer.json()
        assert stopped["status"] == "stopped"
        assert stopped["start_time"] is None  # it never started
        assert "queue" in stopped["status_reason"]

        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "headrace.cli.main",
                "pipeline",
                "runs",
                "stop",
                running["name"],
            ],
            env=client_environment(server),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Asked run" in result.stdout
        assert wait_for(server, running["id"], timeout=60)["status"] == "stopped"

        # The slot is free again, and the stopped queued run never ran.
        after = trigger(server).json()
        assert wait_for(server, after["id"])["status"] == "completed", server.log()
        assert get_run(server, queued["id"])["steps"] == {}
    finally:
        server.stop()


def test_the_cli_stops_a_queued_run_through_the_server(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = _server(tmp_path, migrated_sqlite, "--max-concurrent-runs", "1")
    try:
        create_napping_snapshot(server, tmp_path)
        busy = trigger(server, 60.0).json()
        wait_for(server, busy["id"], ("running",))
        queued = trigger(server).json()
        result = subprocess.run(
            [sys.executable, "-m", "headrace.cli.main", "pipeline", "runs", "stop", queued["name"]],
            env=client_environment(server),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "never starts" in result.stdout
        assert get_run(server, queued["id"])["status"] == "stopped"
        server.http.post(f"{server.url}/api/v1/runs/{busy['id']}/stop", json={})
        assert wait_for(server, busy["id"], timeout=60)["status"] == "stopped"
    finally:
        server.stop()


def test_a_restart_loses_no_queued_or_running_run(tmp_path: Path, migrated_sqlite: Path) -> None:
    server = _server(tmp_path, migrated_sqlite, "--max-concurrent-runs", "1")
    create_napping_snapshot(server, tmp_path)
    first = trigger(server, 4.0).json()
    wait_for(server, first["id"], ("running",))
    rest = [trigger(server).json() for _ in range(3)]
    server.stop()
    assert "stopped cleanly" in server.log()
    # The runner of the first run outlives the server; the others wait in the database.
    assert {r["status"] for r in (get_run_offline(tmp_path, r["id"]) for r in rest)} == {"queued"}
    again = HeadraceServer(tmp_path, extra_args=["--max-concurrent-runs", "1"])
    try:
        ended = [wait_for(again, r["id"]) for r in [first, *rest]]
        assert [r["status"] for r in ended] == ["completed"] * 4, again.log()
        assert most_in_flight(ended) == 1
    finally:
        again.stop()


def get_run_offline(directory: Path, run_id: str) -> dict[str, str]:
    """A run read straight from the server's SQLite file while no server runs."""
    import sqlite3

    with sqlite3.connect(directory / "server.db") as connection:
        row = connection.execute(
            "SELECT status FROM pipeline_runs WHERE id = ?", (run_id,)
        ).fetchone()
    return {"status": row[0]}


def test_a_runner_killed_with_sigkill_fails_its_run_and_frees_the_slot(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = _server(tmp_path, migrated_sqlite, "--max-concurrent-runs", "1")
    try:
        create_napping_snapshot(server, tmp_path)
        doomed = trigger(server, 120.0).json()
        running = wait_for(server, doomed["id"], ("running",))
        waiting = trigger(server).json()
        os.kill(running["driver_pid"], signal.SIGKILL)
        failed = wait_for(server, doomed["id"], timeout=60)
        assert failed["status"] == "failed"
        assert failed["status_reason"], failed
        assert wait_for(server, waiting["id"])["status"] == "completed", server.log()

        logs = server.http.get(f"{server.url}/api/v1/runs/{waiting['id']}/logs")
        assert logs.status_code == 200 and "napping 0.0 s" in logs.text
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "headrace.cli.main",
                "pipeline",
                "runs",
                "logs",
                waiting["name"],
            ],
            env=client_environment(server),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "napping 0.0 s" in result.stdout
    finally:
        server.stop()


def test_a_runner_past_its_timeout_is_killed_and_its_run_failed(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    server = _server(
        tmp_path, migrated_sqlite, HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS="4"
    )
    try:
        create_napping_snapshot(server, tmp_path)
        run = trigger(server, 120.0).json()
        failed = wait_for(server, run["id"], timeout=90)
        assert failed["status"] == "failed"
        assert "timeout of 4 s" in failed["status_reason"], failed
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS", "two"),
        ("HEADRACE_SERVER_MAX_CONCURRENT_SNAPSHOT_RUNS", "0"),
        ("HEADRACE_SERVER_MAX_QUEUED_RUNS", "-5"),
        ("HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS", "soon"),
        ("HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE", "nowhere"),
    ],
)
def test_malformed_queue_settings_stop_the_server_before_it_starts(
    tmp_path: Path, variable: str, value: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    environment[variable] = value
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headrace.cli.main",
            "server",
            "start",
            "--port",
            "0",
            "--database-url",
            str(tmp_path / "never.db"),
        ],
        env={**environment, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert variable in result.stdout + result.stderr
    assert not (tmp_path / "never.db").exists()
    assert time.monotonic() - started < 60
