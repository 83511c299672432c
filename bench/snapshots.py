"""Snapshot timings: create with unchanged code, trigger latency, trigger to first step.

Run from a headrace repository: ``python bench/snapshots.py``. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import textwrap
import time
from pathlib import Path

PROJECT = textwrap.dedent(
    """
    import time
    from headrace import pipeline, step

    @step(enable_cache=False)
    def first(x: int = 0) -> float:
        return time.time()

    @step(enable_cache=False)
    def inc(x: float) -> float:
        return x + 1

    @pipeline(enable_cache=False)
    def ten_steps():
        x = first()
        for _ in range(9):
            x = inc(x)
    """
)


def main() -> None:
    root = Path.cwd()
    (root / "bench_project.py").write_text(PROJECT)
    sys.path.insert(0, str(root))
    import bench_project

    from headrace.client import Client

    bench_project.ten_steps.create_snapshot(name="bench", replace=True)  # code now stored
    creates = []
    for _ in range(5):
        start = time.perf_counter()
        bench_project.ten_steps.create_snapshot(name="bench", replace=True)
        creates.append(time.perf_counter() - start)
    client = Client()
    client.trigger_pipeline(snapshot_name_or_id="bench").wait(timeout=120)  # warm
    triggers, first_steps = [], []
    for _ in range(5):
        start_wall = time.time()
        start = time.perf_counter()
        run = client.trigger_pipeline(snapshot_name_or_id="bench")
        triggers.append(time.perf_counter() - start)
        run = run.wait(timeout=120)
        first_steps.append(run.steps["first"].output.load() - start_wall)
    print(
        json.dumps(
            {
                "create_snapshot_s": round(statistics.median(creates), 4),
                "trigger_s": round(statistics.median(triggers), 4),
                "trigger_to_first_step_s": round(statistics.median(first_steps), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
