"""A 200-wide fan-out of trivial steps on a local Ray cluster: headrace vs plain Ray.

Target (issue 9): headrace's overhead per step is at most 3x that of plain ``ray.remote``
tasks doing the same work on the same cluster, measured in the same run.

Both halves run the same shape in the same driver process on the same cluster: one source
task, then ``WIDTH`` tasks that each take the source's value and add their index, all
ready at once. A round is timed from the first submission until every result is known;
per-step overhead is that time divided by the number of tasks (the work itself is an
addition, so all of it is overhead). Each half is warmed up first (worker processes
started, imports done), then measured ``ROUNDS`` times, alternating halves, and the
medians are compared, since this machine is shared and noisy.

Usage: ``python bench/ray_fanout.py [--address HOST:PORT] [--width 200] [--rounds 5]``.
Without ``--address`` it starts its own two-node cluster (1 CPU per node, 2 in all) on
127.0.0.1 as the tests do, and ends it afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' cluster launcher

from ray_cluster import RayCluster  # noqa: E402 - after the path set-up

TARGET_RATIO = 3.0


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


def measure(address: str, width: int, rounds: int) -> dict[str, float]:
    """Per-step overheads (ms) of both halves, medians over ``rounds`` alternating rounds."""
    import ray

    ray.init(address=address, log_to_driver=False)
    try:
        halves = {"plain_ray": _plain_ray_round(width)}
        for one_round in halves.values():  # warm-up: workers started, imports done
            one_round()
        times: dict[str, list[float]] = {name: [] for name in halves}
        for _ in range(rounds):
            for name, one_round in halves.items():
                times[name].append(one_round())
    finally:
        ray.shutdown()
    figures = {
        f"{name}_ms_per_step": statistics.median(t) / width * 1000 for name, t in times.items()
    }
    figures.update({f"{name}_rounds_s": min(t) for name, t in times.items()})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="an existing cluster (host:port); default: start one")
    parser.add_argument("--width", type=int, default=200)
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
        figures.update(measure(address, arguments.width, arguments.rounds))
    finally:
        if cluster is not None:
            cluster.stop()
    for name, value in figures.items():
        print(f"{name:32} {value:10.3f}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
