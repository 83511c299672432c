"""Measure headrace against the targets of the issues; prints a table and JSON.

Whole-process figures are medians of several runs of a fresh interpreter; in-process
figures are medians of repeated calls in one interpreter after a warm-up run. This
machine is shared and noisy: compare medians, not single runs.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))


def _median_wall(command: list[str], cwd: Path) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_rss_mib(command: list[str], cwd: Path) -> float:
    code = (
        "import resource, subprocess, sys;"
        f"subprocess.run({command!r}, check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True)
    return int(out.stdout.decode().strip()) / 1024


def _in_process(cwd: Path) -> dict[str, float]:
    code = r"""
import json, os, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import pipelines as p

def timed(fn, **kw):
    t = time.perf_counter(); fn(**kw); return time.perf_counter() - t

def med(fn, reps, **kw):
    return statistics.median(timed(fn, **kw) for _ in range(reps))

p.chain(n=5, seed=0)  # warm-up: store open, first compile
seed = lambda: int.from_bytes(os.urandom(3), "big") * 1000
c10 = med(p.chain, 7, n=10, seed=1)
c100 = med(p.chain, 5, n=100, seed=2)
one = med(p.one_step, 9, seed=3)
s = seed(); p.cached_chain(n=100, seed=s)
cached = med(p.cached_chain, 5, n=100, seed=s)
fan = timed(p.sleepy_fanout, width=8, seconds=1.0)
print(json.dumps({"chain10_s": c10, "chain100_s": c100, "one_step_s": one,
                  "cached100_s": cached, "fanout8x1s_s": fan}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE)], cwd=cwd, check=True, capture_output=True
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="headrace-bench-") as tmp:
        repo = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "headrace.cli.main", "init"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        script = str(HERE / "pipelines.py")
        results = _in_process(repo)
        results["import_s"] = _median_wall([sys.executable, "-c", "import headrace"], repo)
        results["python_startup_s"] = _median_wall([sys.executable, "-c", "pass"], repo)
        results["whole_chain10_s"] = _median_wall([sys.executable, script, "chain", "10"], repo)
        results["peak_rss_chain50_mib"] = _peak_rss_mib(
            [sys.executable, script, "chain", "50"], repo
        )
        snapshot_figures = subprocess.run(
            [sys.executable, str(HERE / "snapshots.py")], cwd=repo, check=True, capture_output=True
        )
        results.update(json.loads(snapshot_figures.stdout.decode().strip().splitlines()[-1]))
        long_run = subprocess.run(
            [sys.executable, str(HERE / "long_run.py")], cwd=repo, check=True, capture_output=True
        )
        results.update(json.loads(long_run.stdout.decode().strip().splitlines()[-1]))
    per_step_ms = (results["chain100_s"] - results["chain10_s"]) / 90 * 1000
    rows = [
        ("per-step overhead (slope 10->100, in-process)", f"{per_step_ms:.3f} ms", "<= 1 ms"),
        ("one-step run (in-process)", f"{results['one_step_s'] * 1000:.1f} ms", "<= 50 ms"),
        ("whole `python run.py`, 10-step chain", f"{results['whole_chain10_s']:.3f} s", "<= 0.5 s"),
        ("`python -c 'import headrace'`", f"{results['import_s'] * 1000:.0f} ms", "<= 250 ms"),
        ("  (bare `python -c pass`)", f"{results['python_startup_s'] * 1000:.0f} ms", ""),
        (
            "peak RSS, 50-step chain script",
            f"{results['peak_rss_chain50_mib']:.1f} MiB",
            "<= 100 MiB",
        ),
        (
            "cached rerun, 100-step chain, per step",
            f"{results['cached100_s'] / 100 * 1000:.3f} ms",
            "<= 0.5 ms",
        ),
        ("fan-out of 8 steps sleeping 1 s", f"{results['fanout8x1s_s']:.3f} s", "< 1.5 s"),
        (
            "create snapshot, code unchanged",
            f"{results['create_snapshot_s'] * 1000:.0f} ms",
            "< 300 ms",
        ),
        ("trigger_pipeline returns", f"{results['trigger_s'] * 1000:.1f} ms", "< 100 ms"),
        ("trigger to first step running", f"{results['trigger_to_first_step_s']:.2f} s", "< 1.5 s"),
        (
            f"{results['long_chain_steps']:.0f}-step chain script (user CPU "
            f"{results['long_chain_user_s']:.1f} s)",
            f"{results['long_chain_s']:.2f} s",
            "<= 5 s",
        ),
        (
            "  peak RSS of that script",
            f"{results['long_chain_peak_rss_mib']:.0f} MiB",
            "<= 200 MiB",
        ),
        ("`headrace run show` of that run", f"{results['run_show_s']:.2f} s", "<= 1 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'figure':>12}  target")
    for name, figure, target in rows:
        print(f"{name.ljust(width)}  {figure:>12}  {target}")
    results["per_step_ms"] = per_step_ms
    print(json.dumps({k: round(v, 6) for k, v in results.items()}))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
    main()
