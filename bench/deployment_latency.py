"""Deployments against the targets of issue 16, over HTTP on 127.0.0.1.

A 3-step pipeline whose steps do trivial work is deployed twice with the local deployer
(a real service process each): tracking on (with a bearer key) and tracking off. Each
is invoked ``--requests`` times, one request after another over a kept-alive
connection, with parameters cycling through ``--distinct`` values:

* tracking on: p50 <= 10 ms, p99 <= 50 ms;
* tracking off: p50 <= 3 ms;
* 100 concurrent requests to each: all answered, all correct.

Beside them, in this process and in the same run: the same pipeline called as
``trio(x=...)`` (a plain tracked run), and the deployment's runtime invoked directly
(tracked and untracked), so the HTTP and process hop can be read off.

Usage: ``PYTHONPATH=src python bench/deployment_latency.py [--requests 1000]``.
Prints a table and a JSON line. The machine is shared: compare medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

PROJECT = textwrap.dedent(
    """
    from headrace import pipeline, step


    @step
    def load(x: int) -> int:
        return x + 1


    @step
    def scale(value: int) -> int:
        return value * 10


    @step
    def report(value: int) -> dict:
        return {"value": value}


    @pipeline(enable_cache=False)
    def trio(x: int = 1):
        return report(scale(load(x)))
    """
)
TARGETS = {"tracked_p50": 10.0, "tracked_p99": 50.0, "untracked_p50": 3.0}


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call: Callable[[int], Any], count: int, distinct: int) -> list[float]:
    """Milliseconds of ``count`` calls, after ``distinct`` warm-up calls."""
    for i in range(distinct):
        call(i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i % distinct)
        times.append((time.perf_counter() - started) * 1000.0)
    return times


def over_http(url: str, key: str | None, count: int, distinct: int) -> list[float]:
    """Latency of ``POST /invoke`` as a client sees it (the answer checked each time)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(headers=headers, timeout=60.0) as client:

        def call(x: int) -> None:
            answer = client.post(f"{url}/invoke", json={"parameters": {"x": x}})
            assert answer.status_code == 200, answer.text
            assert answer.json()["outputs"]["output"]["value"] == (x + 1) * 10

        return timed(call, count, distinct)


def concurrent_ok(url: str, key: str | None, count: int = 100) -> int:
    """How many of ``count`` simultaneous requests were answered correctly."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    def call(x: int) -> bool:
        answer = httpx.post(
            f"{url}/invoke", json={"parameters": {"x": x}}, headers=headers, timeout=120.0
        )
        return (
            answer.status_code == 200
            and answer.json()["outputs"]["output"]["value"] == (x + 1) * 10
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        return sum(pool.map(call, range(count)))


def summary(times: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--distinct", type=int, default=10, help="distinct parameter values")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headrace-deploy-bench-") as work:
        return _bench(Path(work), args.requests, args.distinct)


def _bench(work: Path, requests: int, distinct: int) -> int:
    os.chdir(work)
    os.environ.setdefault("HEADRACE_CONTAINER_ENGINE", "none")
    os.environ["HEADRACE_LOGGING_VERBOSITY"] = "ERROR"
    (work / "trio_bench.py").write_text(PROJECT)
    sys.path.insert(0, str(work))
    from headrace.client import Client
    from headrace.deployments import deploy_snapshot, deprovision_deployment
    from headrace.deployments.runtime import DeploymentRuntime
    from headrace.enums import StackComponentType
    from headrace.store.factory import get_store, init_repository

    init_repository(work)
    import trio_bench  # type: ignore[import-not-found]

    client = Client()
    client.create_stack_component("bench", "local", StackComponentType.DEPLOYER, {"threads": 8})
    stack = client.create_stack(
        "bench",
        {
            StackComponentType.ORCHESTRATOR: "default",
            StackComponentType.ARTIFACT_STORE: "default",
            StackComponentType.DEPLOYER: "bench",
        },
    )
    client.activate_stack(stack.id)
    snapshot = trio_bench.trio.create_snapshot(name="trio")
    store = get_store()
    results: dict[str, Any] = {"requests": requests, "distinct_parameters": distinct}
    tracked = deploy_snapshot(snapshot, "tracked")
    untracked = deploy_snapshot(snapshot, "untracked", tracking=False, auth=False)
    try:
        for label, deployed in (("tracked", tracked), ("untracked", untracked)):
            url = deployed.deployment.url
            assert url is not None
            results[f"{label}_http"] = summary(over_http(url, deployed.key, requests, distinct))
            results[f"{label}_concurrent_100_ok"] = concurrent_ok(url, deployed.key)
    finally:
        deprovision_deployment("tracked")
        deprovision_deployment("untracked")
    in_process = max(200, requests // 5)
    results["in_process_pipeline_call"] = summary(
        timed(lambda x: trio_bench.trio(x=x), in_process, distinct)
    )
    for label, tracking in (("tracked", True), ("untracked", False)):
        runtime = DeploymentRuntime(store, snapshot, tracking=tracking)
        results[f"in_process_runtime_{label}"] = summary(
            timed(lambda x, r=runtime: r.invoke({"x": x}), in_process, distinct)
        )
    _print(results)
    return 0


def _print(results: dict[str, Any]) -> None:
    rows = [
        ("HTTP, tracking on", results["tracked_http"], "<= 10 / <= 50"),
        ("HTTP, tracking off", results["untracked_http"], "<= 3 (p50)"),
        ("in process: trio(x=...) (a plain run)", results["in_process_pipeline_call"], ""),
        ("in process: runtime, tracking on", results["in_process_runtime_tracked"], ""),
        ("in process: runtime, tracking off", results["in_process_runtime_untracked"], ""),
    ]
    print(f"{'3-step pipeline':42} {'p50 ms':>8} {'p99 ms':>8}  target")
    for label, figures, target in rows:
        print(f"{label:42} {figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f}  {target}")
    for label in ("tracked", "untracked"):
        print(f"100 concurrent requests, {label}: {results[f'{label}_concurrent_100_ok']}/100 ok")
    met = {
        "tracked_p50": results["tracked_http"]["p50_ms"] <= TARGETS["tracked_p50"],
        "tracked_p99": results["tracked_http"]["p99_ms"] <= TARGETS["tracked_p99"],
        "untracked_p50": results["untracked_http"]["p50_ms"] <= TARGETS["untracked_p50"],
    }
    results["targets_met"] = met
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
