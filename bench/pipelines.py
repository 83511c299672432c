"""Benchmark pipelines: only ``pipeline``, ``step`` and calling them, so the same file
would run under any framework with this API (swap the import)."""

from __future__ import annotations

import os
import sys
import time

from headrace import pipeline, step


@step
def inc(x: int) -> int:
    return x + 1


@step
def nap(seconds: float, index: int) -> int:
    time.sleep(seconds)
    return index


@step
def gather(values: list[int]) -> int:
    return sum(values)


@pipeline(enable_cache=False)
def chain(n: int, seed: int) -> None:
    x = inc(seed)
    for _ in range(n - 1):
        x = inc(x)


@pipeline(enable_cache=True)
def cached_chain(n: int, seed: int) -> None:
    x = inc(seed)
    for _ in range(n - 1):
        x = inc(x)


@pipeline(enable_cache=False)
def one_step(seed: int) -> None:
    inc(seed)


@pipeline(enable_cache=False)
def sleepy_fanout(width: int, seconds: float) -> None:
    gather([nap(seconds, i) for i in range(width)])


if __name__ == "__main__":
    # `python pipelines.py chain N`: a whole-process run of one chain.
    kind, n = sys.argv[1], int(sys.argv[2])
    if kind == "chain":
        chain(n=n, seed=int.from_bytes(os.urandom(3), "big"))
