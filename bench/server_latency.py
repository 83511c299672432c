"""The server against the targets of issue 12, over HTTP on 127.0.0.1.

With 10,000 runs in the store:

* a page of 20 runs: p50 <= 20 ms, p99 <= 100 ms;
* a snapshot trigger answers (201 with the new run): p50 <= 30 ms;
* a 100-step chain run by a client against the server costs <= 3 ms per step more than
  the same run on a local SQLite store;
* 200 triggers fired by 20 concurrent clients all end up as runs: none lost, none
  duplicated (and, unless ``--no-wait``, every one of them finishes).

Usage: ``PYTHONPATH=src python bench/server_latency.py [--runs 10000] [--no-wait]``;
``--chain-only [--burn 2]`` measures only the chain (client and server CPU included),
then again while N processes burn a core each. Prints a table and a JSON line. The
machine is shared: compare medians.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ADMIN_PASSWORD = "bench-admin-password"  # the server's first admin (HEADRACE_DEFAULT_PASSWORD)
ROUNDS = int(os.environ.get("BENCH_REPEAT", "3"))
SOURCES = str(HERE.parent / "src")

PROJECT = textwrap.dedent(
    """
    from headrace import pipeline, step


    @step
    def answer(value: int = 41) -> int:
        return value + 1


    @pipeline(enable_cache=False)
    def tiny() -> int:
        return answer()
    """
)

CHAIN_RUN = textwrap.dedent(
    """
    import json, os, statistics, sys, time
    sys.path.insert(0, sys.argv[1])
    import pipelines as p

    p.chain(n=5, seed=0)  # warm-up: store, compile, connections
    times, cpu = [], []
    for seed in range(1, 4):
        start, used = time.perf_counter(), os.times()
        p.chain(n=100, seed=seed * 1000 + int(time.time()) % 1000)
        times.append(time.perf_counter() - start)
        after = os.times()
        cpu.append(after.user + after.system - used.user - used.system)
    print(json.dumps({"wall": statistics.median(times), "cpu": statistics.median(cpu)}))
    """
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["PYTHONPATH"] = SOURCES
    env.update(extra)
    return env


def seed_runs(database: Path, artifacts: Path, count: int) -> None:
    """``count`` finished runs of one pipeline, written in bulk."""
    sys.path.insert(0, SOURCES)
    from headrace.store.sql.query import insert_sql
    from headrace.store.sql.store import SqlStore

    store = SqlStore(f"sqlite:///{database}", default_artifact_path=str(artifacts))
    stack = store.get_default_stack()
    pipeline = store.get_or_create_pipeline("seeded")
    start = datetime.now(UTC) - timedelta(days=30)
    rows = []
    for index in range(count):
        created = start + timedelta(seconds=index)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "name": f"seeded-{index:05d}",
                "pipeline_id": pipeline.id,
                "snapshot_id": None,
                "stack_id": stack.id,
                "status": "completed",
                "config": {},
                "parameters": {"index": index},
                "tags": [],
                "outputs": {},
                "start_time": created,
                "end_time": created + timedelta(seconds=2),
                "created": created,
                "unlisted": False,
            }
        )
    with store._db.write() as conn:  # a benchmark's bulk load; the store has no bulk verb
        conn.run_many(insert_sql("pipeline_runs", tuple(rows[0])), rows)
    store.close()


class Server:
    """``headrace server start`` on a free port, logged in as its first admin.

    ``max_queued`` defaults to a queue no burst of this bench fills (bench/run_queue.py
    passes its own, to measure the 429s).
    """

    def __init__(
        self,
        directory: Path,
        database: Path,
        artifacts: Path,
        max_runs: int,
        max_queued: int = 100000,
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "server.log"
        command = [
            sys.executable, "-m", "headrace.cli.main", "server", "start",
            "--port", str(self.port), "--database-url", str(database),
            "--artifact-path", str(artifacts), "--log-level", "warning",
            "--max-concurrent-runs", str(max_runs), "--max-queued-runs", str(max_queued),
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=directory, env=environment(HEADRACE_DEFAULT_PASSWORD=ADMIN_PASSWORD),
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(self.log.read_text())
        # Every request below carries the admin's bearer token, as a real client would.
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        answer = httpx.post(f"{self.url}/api/v1/login", data=login, timeout=60)
        answer.raise_for_status()
        self.token = str(answer.json()["access_token"])
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def make_snapshot(server: Server, directory: Path) -> str:
    project = directory / "project"
    project.mkdir()
    (project / "run.py").write_text(PROJECT)
    env = environment(
        HEADRACE_STORE_URL=server.url,
        HEADRACE_STORE_API_TOKEN=server.token,
        HEADRACE_SOURCE_ROOT=str(project),
    )
    subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "pipeline", "snapshot", "create",
         "run.tiny", "--name", "bench"],
        cwd=project, env=env, check=True, capture_output=True,
    )  # fmt: skip
    url = f"{server.url}/api/v1/pipeline_snapshots/bench"
    return str(httpx.get(url, headers=server.headers).json()["id"])


def page_latency(server: Server, requests: int = 400) -> dict[str, float]:
    times = []
    with httpx.Client(base_url=server.url, headers=server.headers) as client:
        for index in range(requests + 20):
            start = time.perf_counter()
            answer = client.get(
                "/api/v1/runs",
                params={"size": 20, "page": 1 + index % 50, "sort_by": "desc:created"},
            )
            elapsed = time.perf_counter() - start
            assert answer.status_code == 200 and len(answer.json()["items"]) == 20
            if index >= 20:  # warm-up
                times.append(elapsed * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99)}


def trigger_latency(server: Server, snapshot_id: str, count: int = 30) -> dict[str, float]:
    times = []
    body = {"steps": {"answer": {"parameters": {"value": 1}}}}
    with httpx.Client(base_url=server.url, headers=server.headers) as client:
        for _ in range(count):
            start = time.perf_counter()
            answer = client.post(f"/api/v1/pipeline_snapshots/{snapshot_id}/runs", json=body)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 201, answer.text
    return {"p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99)}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a process used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    return os.getloadavg()[0]


def chain_overhead(server: Server, directory: Path) -> dict[str, float]:
    """A 100-step chain (median of three in one process) locally and through the server,
    alternating; wall and CPU per step, the client's CPU and the server's."""

    def run(url: str) -> dict[str, float]:
        server_cpu = process_cpu(server.process.pid)
        out = subprocess.run(
            [sys.executable, "-c", CHAIN_RUN, str(HERE)],
            cwd=directory,
            env=environment(HEADRACE_STORE_URL=url, HEADRACE_STORE_API_TOKEN=server.token),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
        # The server works for three chains of 100 steps plus the warm-up's 5.
        figures["server_cpu"] = (process_cpu(server.process.pid) - server_cpu) / 3
        return figures

    # Alternating rounds, so a change in the machine's load hits both sides alike.
    local, remote, loads = [], [], [load_average()]
    for _ in range(ROUNDS):
        local.append(run(f"sqlite:///{directory / 'local' / 'local.db'}"))
        remote.append(run(server.url))
        loads.append(load_average())
    wall = [(r["wall"] - lo["wall"]) * 10 for lo, r in zip(local, remote, strict=True)]
    cpu = [(r["cpu"] - lo["cpu"]) * 10 for lo, r in zip(local, remote, strict=True)]
    return {
        "local_s": statistics.median(x["wall"] for x in local),
        "remote_s": statistics.median(x["wall"] for x in remote),
        "per_step_ms": statistics.median(wall),
        "local_cpu_s": statistics.median(x["cpu"] for x in local),
        "remote_cpu_s": statistics.median(x["cpu"] for x in remote),
        "client_cpu_per_step_ms": statistics.median(cpu),
        "server_cpu_per_step_ms": statistics.median(x["server_cpu"] for x in remote) * 10,
        "load_min": min(loads),
        "load_max": max(loads),
    }


class Burners:
    """``count`` processes spinning on a core each, as added load; stopped by pid."""

    def __init__(self, count: int) -> None:
        self.processes = [
            subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(count)
        ]

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def print_chain(chain: dict[str, float], label: str) -> None:
    print(
        f"100-step chain{label}: local {chain['local_s']:.2f} s, via server "
        f"{chain['remote_s']:.2f} s, +{chain['per_step_ms']:.2f} ms/step wall (target 3); "
        f"client CPU local {chain['local_cpu_s']:.2f} s, remote {chain['remote_cpu_s']:.2f} s "
        f"(+{chain['client_cpu_per_step_ms']:.2f} ms/step), server CPU "
        f"{chain['server_cpu_per_step_ms']:.2f} ms/step; load {chain['load_min']:.1f}-"
        f"{chain['load_max']:.1f}"
    )


def chain_only(args: argparse.Namespace) -> None:
    """The chain measure alone, quiet and then with ``--burn`` CPU burners running."""
    directory = Path(tempfile.mkdtemp(prefix="headrace-chain-bench-"))
    database, artifacts = directory / "server.db", directory / "artifacts"
    (directory / "local").mkdir()
    server = Server(directory, database, artifacts, args.max_concurrent_runs)
    results: dict[str, Any] = {}
    try:
        results["chain_100"] = chain_overhead(server, directory)
        if args.burn:
            burners = Burners(args.burn)
            try:
                results[f"chain_100_with_{args.burn}_burners"] = chain_overhead(server, directory)
            finally:
                burners.stop()
    finally:
        server.stop()
    print_chain(results["chain_100"], "")
    if args.burn:
        print_chain(results[f"chain_100_with_{args.burn}_burners"], f" with {args.burn} burners")
    print(json.dumps(results))


def burst(
    server: Server, snapshot_id: str, clients: int, per_client: int, wait: bool
) -> dict[str, Any]:
    api = f"{server.url}/api/v1"
    headers = server.headers
    before = httpx.get(
        f"{api}/runs", params={"snapshot_id": snapshot_id, "size": 1}, headers=headers
    ).json()["total"]
    ids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_thread() -> None:
        with httpx.Client(timeout=60, headers=headers) as client:
            for _ in range(per_client):
                answer = client.post(f"{api}/pipeline_snapshots/{snapshot_id}/runs", json={})
                with lock:
                    if answer.status_code == 201:
                        ids.append(answer.json()["id"])
                    else:
                        errors.append(answer.text)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    page = httpx.get(
        f"{api}/runs",
        params={"snapshot_id": snapshot_id, "size": 10_000, "created": "gte:2000-01-01"},
        headers=headers,
    ).json()
    names = [run["name"] for run in page["items"]]
    result: dict[str, Any] = {
        "fired": clients * per_client,
        "answered_201": len(ids),
        "errors": len(errors),
        "new_records": page["total"] - before,
        "duplicate_ids": len(ids) - len(set(ids)),
        "duplicate_names": len(names) - len(set(names)),
        "seconds_to_fire": elapsed,
    }
    if wait:
        deadline = time.monotonic() + float(os.environ.get("BENCH_WAIT_S", "1800"))
        finished = 0
        while time.monotonic() < deadline:
            page = httpx.get(
                f"{api}/runs", params={"snapshot_id": snapshot_id, "size": 10_000}, headers=headers
            ).json()["items"]
            mine = [run for run in page if run["id"] in set(ids)]
            finished = sum(run["status"] in ("completed", "failed", "stopped") for run in mine)
            if finished == len(ids):
                break
            time.sleep(2)
        completed = sum(run["status"] == "completed" for run in mine)
        result.update(
            finished=finished, completed=completed, seconds_to_finish=time.perf_counter() - started
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--no-wait", action="store_true", help="Do not wait for triggered runs.")
    parser.add_argument("--max-concurrent-runs", type=int, default=2)
    parser.add_argument(
        "--chain-only", action="store_true", help="Only the 100-step chain, local vs server."
    )
    parser.add_argument(
        "--burn", type=int, default=0, help="With --chain-only: again with N CPU burners."
    )
    args = parser.parse_args()
    if args.chain_only:
        chain_only(args)
        return
    directory = Path(tempfile.mkdtemp(prefix="headrace-server-bench-"))
    database, artifacts = directory / "server.db", directory / "artifacts"
    (directory / "local").mkdir()
    seed_runs(database, artifacts, args.runs)
    server = Server(directory, database, artifacts, args.max_concurrent_runs)
    try:
        snapshot_id = make_snapshot(server, directory)
        # The chain first: runs started by the triggers below would compete with it.
        results = {
            "runs_in_store": args.runs,
            "page_of_20": page_latency(server),
            "chain_100": chain_overhead(server, directory),
            "trigger": trigger_latency(server, snapshot_id),
            "burst_200_by_20": burst(server, snapshot_id, 20, 10, wait=not args.no_wait),
        }
    finally:
        server.stop()
    page, trigger, chain = results["page_of_20"], results["trigger"], results["chain_100"]
    fired = results["burst_200_by_20"]
    print(
        f"page of 20 runs (of {args.runs}): p50 {page['p50_ms']:.1f} ms, "
        f"p99 {page['p99_ms']:.1f} ms (targets 20 / 100)"
    )
    print(f"trigger answer: p50 {trigger['p50_ms']:.1f} ms (target 30)")
    print_chain(chain, "")
    print(
        f"200 triggers by 20 clients: {fired['answered_201']} answered 201, "
        f"{fired['new_records']} recorded, {fired['duplicate_ids']} duplicate ids, "
        f"{fired['duplicate_names']} duplicate names, finished {fired.get('finished', 'n/a')}, "
        f"completed {fired.get('completed', 'n/a')}"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
