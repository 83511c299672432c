"""One set of graph shapes run on every way the local orchestrator can execute steps:
threads, a single thread, forked processes, and dynamic pipelines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headrace import ExecutionStatus, pipeline, step


@step(enable_cache=False)
def leaf(value: int) -> int:
    return value


@step(enable_cache=False)
def combine(values: list[int]) -> int:
    return sum(values)


@step(enable_cache=False)
def double(value: int) -> int:
    return value * 2


def chain(width: int) -> None:
    x = leaf(1)
    for _ in range(width):
        x = double(x)


def fan_out_fan_in(width: int) -> None:
    source = leaf(1)
    combine([double(source, id=f"branch_{i}") for i in range(width)])


def diamond(width: int) -> None:
    top = leaf(3)
    left = double(top, id="left")
    right = double(top, id="right")
    combine([left, right], id="bottom")


def branchless(width: int) -> None:
    for i in range(width):
        leaf(i, id=f"alone_{i}")


SHAPES: dict[str, tuple[Callable[[int], None], dict[str, Any]]] = {
    "chain": (chain, {"double_4": 16}),
    "fan_out_fan_in": (fan_out_fan_in, {"combine": 8}),
    "diamond": (diamond, {"bottom": 12}),
    "branchless": (branchless, {"alone_3": 3}),
}
MODES: dict[str, dict[str, Any]] = {
    "threads": {},
    "one_thread": {"settings": {"orchestrator": {"max_parallelism": 1}}},
    "processes": {"settings": {"orchestrator": {"processes": True, "max_parallelism": 3}}},
    "dynamic": {"dynamic": True},
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shapes_run_the_same_everywhere(repo: Path, shape: str, mode: str) -> None:
    build, expected = SHAPES[shape]

    def body(width: int = 4) -> None:
        build(width)

    body.__name__ = f"{shape}_{mode}"
    body.__qualname__ = body.__name__
    run = pipeline(enable_cache=False, **MODES[mode])(body)()
    assert run.status is ExecutionStatus.COMPLETED
    steps = run.steps
    assert all(s.status is ExecutionStatus.COMPLETED for s in steps.values())
    for name, value in expected.items():
        assert steps[name].output.load() == value
    for step_run in steps.values():  # every step started after what it read had ended
        for versions in step_run.inputs.values():
            for version in versions:
                producer = next(s for s in steps.values() if s.id == version.producer_step_run_id)
                assert producer.end_time is not None and step_run.start_time is not None
                assert producer.end_time <= step_run.start_time


_threads: list[int] = []


@step(enable_cache=False)
def where(value: int) -> int:
    import threading

    _threads.append(threading.get_ident())
    return value


def test_a_chain_runs_in_the_calling_thread_and_branches_in_a_pool(repo: Path) -> None:
    import threading

    @pipeline(enable_cache=False)
    def thread_chain() -> None:
        where(where(where(1)))

    @pipeline(enable_cache=False)
    def thread_branches() -> None:
        top = where(1)
        where(top, id="left")
        where(top, id="right")

    _threads.clear()
    assert thread_chain().status is ExecutionStatus.COMPLETED
    assert _threads == [threading.get_ident()] * 3
    _threads.clear()
    assert thread_branches().status is ExecutionStatus.COMPLETED
    assert _threads[0] == threading.get_ident()
    assert threading.get_ident() not in _threads[1:] and len(_threads) == 3
