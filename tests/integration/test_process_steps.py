"""The local orchestrator's process option: parallel steps run in child processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.exceptions import RunFailedError

PROCESSES = {"orchestrator": {"processes": True, "max_parallelism": 4}}


@step(enable_cache=False)
def pid_of(index: int) -> int:
    print(f"child {index} says hello")
    return os.getpid()


@step(enable_cache=False)
def collect(pids: list[int]) -> list[int]:
    return pids


@step(enable_cache=False)
def spins_forever(index: int) -> int:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        time.sleep(0.01)
    return index


@step(enable_cache=False)
def fails_soon() -> int:
    time.sleep(0.3)
    raise RuntimeError("fails soon")


def test_parallel_steps_run_in_child_processes_and_feed_downstream(repo: Path) -> None:
    @pipeline(enable_cache=False, settings=PROCESSES)
    def p() -> None:
        collect([pid_of(i, id=f"p{i}") for i in range(3)])

    run = p()
    pids = run.steps["collect"].output.load()
    assert len(pids) == 3 and os.getpid() not in pids and len(set(pids)) == 3
    assert all(run.steps[f"p{i}"].status is ExecutionStatus.COMPLETED for i in range(3))
    assert "child 1 says hello" in run.steps["p1"].logs


def test_fail_fast_terminates_child_processes(repo: Path) -> None:
    @pipeline(enable_cache=False, settings=PROCESSES, execution_mode="fail_fast")
    def p() -> None:
        spins_forever(1, id="spinner")
        fails_soon()

    started = time.monotonic()
    with pytest.raises(RunFailedError, match="fails_soon") as info:
        p()
    assert time.monotonic() - started < 20
    run = info.value.run  # type: ignore[attr-defined]
    assert run.steps["spinner"].status is ExecutionStatus.STOPPED
    run_dir = Path(run.steps["fails_soon"].run.store.get_default_stack().artifact_store_path)
    assert not list((run_dir / "runs" / run.id).glob("spinner.*"))
