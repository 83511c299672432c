"""A project with a pipeline that naps, for the run-queue tests and the bench: a named
snapshot of it on a server, triggers over REST, and waits on runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from server_project import client_environment

from headrace_server import HeadraceServer

NAPPING = textwrap.dedent(
    '''
    """One step that sleeps as long as asked: runs that take a known time."""

    import time

    from headrace import pipeline, step


    @step
    def nap(seconds: float = 0.0) -> float:
        print(f"napping {seconds} s", flush=True)
        time.sleep(seconds)
        return seconds


    @pipeline
    def napping(seconds: float = 0.0) -> float:
        return nap(seconds=seconds)
    '''
)
ENDED = ("completed", "failed", "stopped")


def create_napping_snapshot(server: HeadraceServer, directory: Path, name: str = "nap") -> None:
    """Write the project and make a named snapshot of it on ``server``."""
    project = directory / "napping-project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "run.py").write_text(NAPPING)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headrace.cli.main",
            "pipeline",
            "snapshot",
            "create",
            "run.napping",
            "--name",
            name,
        ],
        cwd=project,
        env=client_environment(server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def trigger(server: HeadraceServer, seconds: float = 0.0, name: str = "nap") -> Any:
    """``POST /api/v1/pipeline_snapshots/{name}/runs``: the answer."""
    return server.http.post(
        f"{server.url}/api/v1/pipeline_snapshots/{name}/runs",
        json={"steps": {"nap": {"parameters": {"seconds": seconds}}}},
    )


def get_run(server: HeadraceServer, run_id: str) -> dict[str, Any]:
    """``GET /api/v1/runs/{id}``."""
    answer = server.http.get(f"{server.url}/api/v1/runs/{run_id}")
    answer.raise_for_status()
    return dict(answer.json())


def wait_for(
    server: HeadraceServer, run_id: str, statuses: tuple[str, ...] = ENDED, timeout: float = 180
) -> dict[str, Any]:
    """The run once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = get_run(server, run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run}\n{server.log()}")


def list_runs(server: HeadraceServer, **params: Any) -> list[dict[str, Any]]:
    """Every run the server lists (``size=1000``)."""
    answer = server.http.get(f"{server.url}/api/v1/runs", params={"size": 1000, **params})
    answer.raise_for_status()
    return list(answer.json()["items"])


def most_in_flight(runs: list[dict[str, Any]]) -> int:
    """The most runs whose recorded [start_time, end_time] overlap at one instant."""
    events: list[tuple[datetime, int]] = []
    for run in runs:
        if run["start_time"] is None:
            continue
        events.append((datetime.fromisoformat(run["start_time"]), 1))
        events.append((datetime.fromisoformat(run["end_time"]), -1))
    most = current = 0
    for _, change in sorted(events):  # an end sorts before a start at the same instant
        current += change
        most = max(most, current)
    return most
