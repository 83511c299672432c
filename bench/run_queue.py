"""The server's run queue against the targets of issue 13, with the ``local`` workload
manager, over HTTP on 127.0.0.1:

* trigger to first step running: p50 <= 1 s (the step's recorded start time minus the
  moment the trigger was sent; one run at a time, so nothing waits for a slot);
* 200 triggers from 20 concurrent clients, at most 2 runs in flight and 50 waiting:
  every trigger is a run that completes or a 429 (none lost, none duplicated), and
  never more than 2 runs in flight, checked from the runs' recorded start and end
  times.

Usage: ``PYTHONPATH=src python bench/run_queue.py [--latency-runs 15]``. Prints a table
and a JSON line. The machine is shared: compare medians.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import server_latency as latency
from server_latency import PROJECT, environment

ENDED = ("completed", "failed", "stopped")


class Server(latency.Server):
    """The latency bench's server over a fresh SQLite database, with this bench's
    queue limits and a client for reading runs."""

    def __init__(self, directory: Path, max_runs: int, max_queued: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(
            directory, directory / "server.db", directory / "artifacts", max_runs, max_queued
        )
        self.http = httpx.Client(headers=self.headers, timeout=60)

    def make_snapshot(self, directory: Path) -> None:
        project = directory / "project"
        project.mkdir(exist_ok=True)
        (project / "run.py").write_text(PROJECT)
        subprocess.run(
            [sys.executable, "-m", "headrace.cli.main", "pipeline", "snapshot", "create",
             "run.tiny", "--name", "bench"],
            cwd=project, check=True, capture_output=True,
            env=environment(HEADRACE_STORE_URL=self.url, HEADRACE_STORE_API_TOKEN=self.token),
        )  # fmt: skip

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.url}/api/v1/runs/{run_id}").json())

    def wait(self, run_id: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in ENDED:
                return run
            time.sleep(0.2)
        raise RuntimeError(f"run {run_id} did not end:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.http.close()
        super().stop()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def first_step_latency(server: Server, count: int) -> dict[str, float]:
    """Trigger, then read when the run's first step started (recorded by the runner)."""
    latencies = []
    for _ in range(count):
        sent = datetime.now(UTC)
        answer = server.http.post(f"{server.url}/api/v1/pipeline_snapshots/bench/runs", json={})
        answer.raise_for_status()
        run = server.wait(answer.json()["id"])
        step = run["steps"]["answer"]
        latencies.append((_time(step["start_time"]) - sent).total_seconds())
    return {
        "p50_s": statistics.median(latencies),
        "min_s": min(latencies),
        "max_s": max(latencies),
        "runs": count,
    }


def most_in_flight(runs: list[dict[str, Any]]) -> int:
    """The most runs whose recorded [start_time, end_time] overlap at one instant."""
    events = []
    for run in runs:
        events.append((_time(run["start_time"]), 1))
        events.append((_time(run["end_time"]), -1))
    most = current = 0
    for _, change in sorted(events):  # an end sorts before a start at the same instant
        current += change
        most = max(most, current)
    return most


def burst(server: Server, clients: int, per_client: int) -> dict[str, Any]:
    """``clients`` threads fire ``per_client`` triggers each, as fast as they can."""
    accepted: list[str] = []
    refused: list[httpx.Response] = []
    other: list[str] = []
    lock = threading.Lock()

    def fire() -> None:
        with httpx.Client(timeout=60, headers=server.headers) as client:
            for _ in range(per_client):
                answer = client.post(f"{server.url}/api/v1/pipeline_snapshots/bench/runs", json={})
                with lock:
                    if answer.status_code == 201:
                        accepted.append(answer.json()["id"])
                    elif answer.status_code == 429:
                        refused.append(answer)
                    else:
                        other.append(f"{answer.status_code} {answer.text}")

    started = time.perf_counter()
    threads = [threading.Thread(target=fire) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fired_s = time.perf_counter() - started
    runs = [server.wait(run_id, timeout=1800) for run_id in accepted]
    listed = server.http.get(f"{server.url}/api/v1/runs", params={"size": 10_000}).json()
    launched = re.findall(r"Launched run (\S+) ", server.log.read_text())
    return {
        "fired": clients * per_client,
        "accepted_201": len(accepted),
        "refused_429": len(refused),
        "refused_with_retry_after": sum("retry-after" in r.headers for r in refused),
        "other_answers": len(other),
        "lost": clients * per_client - len(accepted) - len(refused),
        "runs_recorded": listed["total"],
        "duplicate_ids": len(accepted) - len(set(accepted)),
        "completed": sum(run["status"] == "completed" for run in runs),
        "launches": len(launched),
        "duplicate_launches": len(launched) - len(set(launched)),
        "most_in_flight": most_in_flight(runs),
        "seconds_to_fire": fired_s,
        "seconds_to_finish": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=15)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, Any] = {}

    directory = Path(tempfile.mkdtemp(prefix="headrace-queue-bench-"))
    (directory / "latency").mkdir()
    server = Server(directory / "latency", max_runs=2, max_queued=50)
    try:
        server.make_snapshot(directory / "latency")
        server.wait(  # warm-up: the first run unpacks the code archive into the cache
            server.http.post(f"{server.url}/api/v1/pipeline_snapshots/bench/runs", json={}).json()[
                "id"
            ]
        )
        results["first_step"] = first_step_latency(server, args.latency_runs)
    finally:
        server.stop()

    (directory / "load").mkdir()
    server = Server(directory / "load", max_runs=2, max_queued=50)
    try:
        server.make_snapshot(directory / "load")
        results["burst"] = burst(server, args.clients, args.per_client)
    finally:
        server.stop()

    first, load = results["first_step"], results["burst"]
    print(
        f"trigger -> first step running: p50 {first['p50_s']:.2f} s "
        f"(min {first['min_s']:.2f}, max {first['max_s']:.2f}; target 1 s)"
    )
    print(
        f"{load['fired']} triggers by {args.clients} clients (limit 2, queue 50): "
        f"{load['accepted_201']} queued, {load['refused_429']} refused 429, {load['lost']} lost, "
        f"{load['other_answers']} other answers; {load['completed']} completed; "
        f"{load['duplicate_launches']} duplicate launches; most in flight "
        f"{load['most_in_flight']} (target 2)"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
