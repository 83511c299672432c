"""A 200-wide fan-out of trivial steps on a local Ray cluster: headrace vs plain Ray.

Target (issue 9): headrace's overhead per step is at most 3x that of plain ``ray.remote``
tasks doing the same work on the same cluster, measured in the same run.

Both halves run the same shape in the same driver process on the same cluster: one source
task, then ``WIDTH`` tasks that each take the source's value and add their index, all
ready at once. For plain Ray a round is timed from the first submission until every
result is known; for headrace, the whole ``fanout(width)`` call (compile, run record,
every step recorded with its artifact, run finished). The work itself is an addition, so
all of the time is overhead. Per-step overhead is reported two ways: the whole round
divided by its steps, and the slope between a small and the large width (what one more
step costs, without what a run costs once). Each half is warmed up first (worker
processes started, imports done), then measured ``ROUNDS`` times, alternating halves,
and medians are compared, since this machine is shared and noisy.

Usage: ``python bench/ray_fanout.py [--address HOST:PORT] [--width 200] [--rounds 5]``.
Without ``--address`` it starts its own two-node cluster (1 CPU per node, 2 in all) on
127.0.0.1 as the tests do, and ends it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' cluster launcher

from headrace import pipeline, step  # noqa: E402
from ray_cluster import RayCluster  # noqa: E402 - after the path set-up

TARGET_RATIO = 3.0


@step(enable_cache=False)
def source() -> int:
    return 1


@step(enable_cache=False)
def trivial(x: int, index: int) -> int:
    return x + index


@pipeline(enable_cache=False)
def fanout(width: int) -> None:
    value = source()
    for i in range(width):
        trivial(value, i, id=f"trivial_{i}")


def _plain_ray_round(width: int) -> Callable[[], float]:
    """A fan-out of plain Ray tasks; returns a function timing one round."""
    import ray

    @ray.remote
    def source() -> int:
        return 1

    @ray.remote
    def trivial(x: int, index: int) -> int:
        return x + index

    def one_round() -> float:
        started = time.perf_counter()
        value = source.remote()
        results = ray.get([trivial.remote(value, i) for i in range(width)])
        elapsed = time.perf_counter() - started
        assert results == [1 + i for i in range(width)]
        return elapsed

    return one_round


def _headrace_round(width: int, address: str) -> Callable[[], float]:
    """The same fan-out as a headrace pipeline on the Ray orchestrator, in a fresh
    repository (SQLite store, local artifact store); returns a function timing one run."""
    import tempfile

    from headrace.store.factory import forget_stores, init_repository
    from ray_cluster import use_ray_orchestrator

    repository = Path(tempfile.mkdtemp(prefix="headrace-bench-ray-"))
    os.chdir(repository)
    forget_stores()
    init_repository(repository)
    use_ray_orchestrator(address)

    def one_round() -> float:
        started = time.perf_counter()
        run = fanout(width)
        elapsed = time.perf_counter() - started
        assert str(run.status) == "completed", run.status
        return elapsed

    return one_round


def _cpu_seconds(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by this process and by every process
    below ``roots`` (the cluster's nodes and the Ray workers they started), read from
    /proc. On a shared, loaded machine wall times swing with other people's work; the
    CPU a round costs does not, so it is reported next to them."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    below = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in below and pid not in below:
                below.add(pid)
                grew = True
    own = os.times()
    return own.user + own.system + sum(used.get(pid, 0.0) for pid in below)


def measure(
    address: str, widths: tuple[int, int], rounds: int, cluster_pids: list[int] | None = None
) -> dict[str, float]:
    """Per-step overheads (ms) of both halves: medians over ``rounds`` alternating rounds,
    as whole runs per step at the larger width and as the slope between the two widths
    (which leaves out what a run costs once, whatever its width). With the cluster's
    process ids (a cluster this benchmark started, on Linux), also the CPU per step of
    each half's larger rounds, driver and cluster together."""
    import ray

    small, large = widths
    cpu: dict[str, float] = {}
    ray.init(address=address, log_to_driver=False)
    try:
        halves = {
            "plain_ray": {w: _plain_ray_round(w) for w in widths},
            "headrace": {w: _headrace_round(w, address) for w in widths},
        }
        for by_width in halves.values():  # warm-up: workers started, imports done
            for one_round in by_width.values():
                one_round()
        times: dict[tuple[str, int], list[float]] = {
            (name, w): [] for name in halves for w in widths
        }
        for _ in range(rounds):
            for name, by_width in halves.items():
                for width, one_round in by_width.items():
                    before = _cpu_seconds(cluster_pids) if cluster_pids else 0.0
                    times[(name, width)].append(one_round())
                    if cluster_pids and width == large:
                        cpu[name] = cpu.get(name, 0.0) + _cpu_seconds(cluster_pids) - before
    finally:
        ray.shutdown()
    figures: dict[str, float] = {}
    for name in halves:
        whole = statistics.median(times[(name, large)])
        part = statistics.median(times[(name, small)])
        figures[f"{name}_run_{large}_s"] = whole
        figures[f"{name}_run_{small}_s"] = part
        figures[f"{name}_ms_per_step_whole"] = whole / large * 1000
        figures[f"{name}_ms_per_step_slope"] = (whole - part) / (large - small) * 1000
    for name, seconds in cpu.items():
        figures[f"{name}_cpu_ms_per_step_whole"] = seconds / rounds / large * 1000
    if len(cpu) == 2:
        figures["ratio_cpu_whole"] = cpu["headrace"] / cpu["plain_ray"]
    figures["ratio_whole"] = (
        figures["headrace_ms_per_step_whole"] / figures["plain_ray_ms_per_step_whole"]
    )
    figures["ratio_slope"] = (
        figures["headrace_ms_per_step_slope"] / figures["plain_ray_ms_per_step_slope"]
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="an existing cluster (host:port); default: start one")
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--small-width", type=int, default=20, help="for the slope")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    cluster = None
    figures: dict[str, float] = {}
    try:
        address = arguments.address
        if address is None:
            cluster = RayCluster()
            cluster.start()
            address = cluster.address
            figures["cluster_start_s"] = cluster.start_seconds
        figures["load_avg_1m_before"] = os.getloadavg()[0]
        widths = (arguments.small_width, arguments.width)
        pids = None
        if cluster is not None and Path("/proc/self/stat").exists():
            pids = [process.pid for process in cluster.processes]
        figures.update(measure(address, widths, arguments.rounds, pids))
        figures["load_avg_1m_after"] = os.getloadavg()[0]
    finally:
        if cluster is not None:
            cluster.stop()
    for name, value in figures.items():
        print(f"{name:32} {value:10.3f}")
    verdict = "meets" if figures["ratio_slope"] <= TARGET_RATIO else "misses"
    print(f"headrace/plain Ray per step (slope): {figures['ratio_slope']:.2f}x, {verdict} <= 3x")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
