"""Triggers fired by concurrent clients all become runs: none lost, none duplicated,
and every run executes (at most ``--max-concurrent-runs`` runner processes at once)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from server_project import create_snapshot_remotely, write_project

from headrace_server import HeadraceServer

CLIENTS = 8
PER_CLIENT = 3
FINISH_TIMEOUT = 600


def test_concurrent_triggers_all_become_runs_once(tmp_path: Path, migrated_sqlite: Path) -> None:
    server = HeadraceServer(
        tmp_path, template=migrated_sqlite, extra_args=["--max-concurrent-runs", "2"]
    )
    try:
        create_snapshot_remotely(server, write_project(tmp_path), "nightly")
        api = f"{server.url}/api/v1"
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def fire() -> None:
            with httpx.Client(timeout=60, headers=server.headers()) as client:
                for _ in range(PER_CLIENT):
                    answer = client.post(f"{api}/pipeline_snapshots/nightly/runs", json={})
                    with lock:
                        answers.append(answer)

        threads = [threading.Thread(target=fire) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert [a.status_code for a in answers] == [201] * CLIENTS * PER_CLIENT
        ids = {a.json()["id"] for a in answers}
        assert len(ids) == CLIENTS * PER_CLIENT
        runs = server.http.get(f"{api}/runs", params={"size": 1000}).json()
        assert runs["total"] == len(ids)
        assert {run["id"] for run in runs["items"]} == ids
        assert len({run["name"] for run in runs["items"]}) == len(ids)

        deadline = time.monotonic() + FINISH_TIMEOUT
        statuses: list[str] = []
        while time.monotonic() < deadline:
            items = server.http.get(f"{api}/runs", params={"size": 1000}).json()["items"]
            statuses = [run["status"] for run in items]
            if all(status in ("completed", "failed", "stopped") for status in statuses):
                break
            time.sleep(0.5)
        assert statuses == ["completed"] * len(ids), server.log()
    finally:
        server.stop()
