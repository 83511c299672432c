"""Two ``headrace server`` processes on one PostgreSQL database share one run queue:
every queued run is launched exactly once, by one of them, and the concurrency limit
holds across both (checked from the runs' recorded start and end times); a running
run's output is served by the server that did not launch it too."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from queue_project import (
    create_napping_snapshot,
    list_runs,
    most_in_flight,
    trigger,
    wait_for,
)

from headrace_server import HeadraceServer

TRIGGERS_PER_SERVER = 8
LIMIT = 2


def test_two_servers_launch_each_run_once_within_one_limit(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    arguments = ["--max-concurrent-runs", str(LIMIT)]
    first = HeadraceServer(tmp_path / "a", postgres_url, extra_args=arguments)
    second = HeadraceServer(tmp_path / "b", postgres_url, extra_args=arguments)
    try:
        create_napping_snapshot(first, tmp_path)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def fire(server: HeadraceServer) -> None:
            with httpx.Client(headers=server.headers(), timeout=60) as client:
                for _ in range(TRIGGERS_PER_SERVER):
                    answer = client.post(
                        f"{server.url}/api/v1/pipeline_snapshots/nap/runs",
                        json={"steps": {"nap": {"parameters": {"seconds": 0.5}}}},
                    )
                    with lock:
                        answers.append(answer)

        threads = [threading.Thread(target=fire, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [201] * 2 * TRIGGERS_PER_SERVER
        ids = [a.json()["id"] for a in answers]
        ended = [wait_for(second, run_id, timeout=300) for run_id in ids]
        assert [r["status"] for r in ended] == ["completed"] * len(ids), first.log() + second.log()
        assert most_in_flight(ended) <= LIMIT
        assert len(list_runs(first)) == len(ids)

        # Each run was launched by exactly one server, once.
        launched = re.findall(r"Launched run (\S+) ", first.log() + second.log())
        assert sorted(launched) == sorted(r["name"] for r in ended)
        assert all(len(r["steps"]) == 1 for r in ended)
        conninfo = re.sub(r"^postgresql\+psycopg://", "postgresql://", postgres_url)

        def queue_rows() -> list[tuple[Any, ...]]:
            with psycopg.connect(conninfo) as connection:
                return connection.execute(
                    "SELECT claimed_by, handle, released_at FROM run_queue"
                ).fetchall()

        rows = queue_rows()
        assert len(rows) == len(ids)
        assert len({handle for _, handle, _ in rows}) == len(ids)
        # A dispatcher releases an ended run's slot at its next look, moments after the
        # run recorded its end.
        deadline = time.monotonic() + 60
        while any(row[2] is None for row in rows) and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = queue_rows()
        assert all(released is not None for _, _, released in rows)
        # Which dispatcher wins each free slot is a matter of timing (on a loaded machine
        # one server can win them all): what must hold is that only these two servers
        # claimed runs, each run once (above), never more than LIMIT at a time.
        claimers = {claimer for claimer, _, _ in rows}
        assert 1 <= len(claimers) <= 2, claimers
        assert all(claimer and claimer.count(":") == 2 for claimer in claimers), claimers
    finally:
        second.stop()
        first.stop()


def test_a_running_runs_output_is_served_by_either_server(
    tmp_path: Path, postgres_url: str
) -> None:
    servers = []
    for name in ("a", "b"):
        # Each server's runner output in its own directory: as on two machines.
        (tmp_path / name).mkdir()
        logs = {"HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY": str(tmp_path / name / "runner-logs")}
        servers.append(HeadraceServer(tmp_path / name, postgres_url, env=logs))
    first, second = servers
    try:
        create_napping_snapshot(first, tmp_path)
        run = trigger(first, 120.0).json()
        wait_for(first, run["id"], ("running",))
        launcher, other = (
            (first, second) if f"Launched run {run['name']} " in first.log() else (second, first)
        )
        assert f"Launched run {run['name']} " in launcher.log(), first.log() + second.log()
        deadline = time.monotonic() + 60
        text = ""
        while "napping 120.0 s" not in text and time.monotonic() < deadline:
            time.sleep(0.3)
            text = other.http.get(f"{other.url}/api/v1/runs/{run['id']}/logs").text
        assert "napping 120.0 s" in text, (text, launcher.log())
        assert other.http.get(f"{other.url}/api/v1/runs/{run['id']}").json()["status"] == (
            "running"
        )

        stopped = other.http.post(
            f"{other.url}/api/v1/runs/{run['id']}/stop", json={"graceful": False}
        )
        assert stopped.status_code == 200, stopped.text
        assert wait_for(other, run["id"])["status"] == "stopped"
        conninfo = re.sub(r"^postgresql\+psycopg://", "postgresql://", postgres_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # released at the dispatcher's next look
            with psycopg.connect(conninfo) as connection:
                released, chunks = connection.execute(
                    "SELECT released_at, (SELECT COUNT(*) FROM runner_log_chunks) "
                    "FROM run_queue WHERE run_id = %s",
                    (run["id"],),
                ).fetchone() or (None, None)
            if released is not None:
                break
            time.sleep(0.2)
        assert released is not None and chunks == 0  # the kept logs replace the chunks
        kept = other.http.get(f"{other.url}/api/v1/runs/{run['id']}/logs").text
        assert "napping 120.0 s" in kept
        assert "Could not watch" not in first.log() + second.log()
    finally:
        first.stop()
        second.stop()
