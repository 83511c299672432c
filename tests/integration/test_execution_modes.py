"""Seed 002's eight-step example under each execution mode.

Shape: 1 -> (2, 3, 4); 2 -> 5; 3 -> 6; 4 -> 7; (5, 6, 7) -> 8. Step 2 fails while 3 and 4
are still running.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from headrace import ExecutionMode, ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.exceptions import RunFailedError

C, F, S, X = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.SKIPPED,
    ExecutionStatus.STOPPED,
)
FINISHED: list[str] = []


def _busy(seconds: float) -> None:
    # Short sleeps: a thread is interrupted when it next runs Python code.
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


@step(enable_cache=False)
def s1() -> int:
    return 1


@step(enable_cache=False)
def s2(x: int) -> int:
    _busy(0.2)
    raise RuntimeError("step 2 breaks")


@step(enable_cache=False)
def slow(x: int, seconds: float, label: str) -> int:
    _busy(seconds)
    FINISHED.append(label)
    return x


@step(enable_cache=False)
def join(a: int, b: int, c: int) -> int:
    return a + b + c


def eight_steps(mode: ExecutionMode | None, seconds: float = 1.0):  # type: ignore[no-untyped-def]
    @pipeline(enable_cache=False, execution_mode=mode)
    def eight() -> None:
        one = s1(id="step_1")
        two = s2(one, id="step_2")
        three = slow(one, seconds, "3", id="step_3")
        four = slow(one, seconds, "4", id="step_4")
        five = slow(two, 0.0, "5", id="step_5")
        six = slow(three, 0.0, "6", id="step_6")
        seven = slow(four, 0.0, "7", id="step_7")
        join(five, six, seven, id="step_8")

    return eight


def _statuses(run_name: str) -> dict[str, ExecutionStatus]:
    steps = Client().get_pipeline_run(run_name).steps
    return {name.removeprefix("step_"): s.status for name, s in steps.items()}


def _run(p) -> str:  # type: ignore[no-untyped-def]
    FINISHED.clear()
    with pytest.raises(RunFailedError, match="step_2") as info:
        p()
    return str(info.value.run_name)


@pytest.mark.usefixtures("artifacts_as_files")  # asserts on the files left behind
def test_fail_fast_stops_running_steps_and_launches_nothing(repo: Path) -> None:
    started = time.monotonic()
    run_name = _run(eight_steps(ExecutionMode.FAIL_FAST, seconds=20.0))
    assert time.monotonic() - started < 10  # steps 3 and 4 did not run their 20 s
    statuses = _statuses(run_name)
    assert statuses == {"1": C, "2": F, "3": X, "4": X, "5": S, "6": S, "7": S, "8": S}
    assert FINISHED == []
    run = Client().get_pipeline_run(run_name)
    assert run.status is ExecutionStatus.FAILED
    assert run.steps["step_3"].error is not None
    # Stopped steps left nothing behind in the artifact store.
    run_dir = Path(Client().active_stack.artifact_store_path) / "runs" / run.id
    assert sorted(p.name for p in run_dir.iterdir()) == ["step_1.output"]


def test_stop_on_failure_lets_running_steps_finish(repo: Path) -> None:
    run_name = _run(eight_steps(ExecutionMode.STOP_ON_FAILURE, seconds=0.6))
    assert _statuses(run_name) == {
        "1": C,
        "2": F,
        "3": C,
        "4": C,
        "5": S,
        "6": S,
        "7": S,
        "8": S,
    }
    assert sorted(FINISHED) == ["3", "4"]


def test_continue_on_failure_runs_what_does_not_depend_on_the_failure(repo: Path) -> None:
    run_name = _run(eight_steps(ExecutionMode.CONTINUE_ON_FAILURE, seconds=0.3))
    assert _statuses(run_name) == {
        "1": C,
        "2": F,
        "3": C,
        "4": C,
        "5": S,
        "6": C,
        "7": C,
        "8": S,
    }


def test_continue_on_failure_is_the_default(repo: Path) -> None:
    run_name = _run(eight_steps(None, seconds=0.3))
    assert _statuses(run_name)["6"] is C


def test_mode_from_with_options_and_yaml(repo: Path, tmp_path: Path) -> None:
    base = eight_steps(None, seconds=0.6)
    run_name = _run(base.with_options(execution_mode="stop_on_failure"))
    assert _statuses(run_name)["6"] is S
    config = tmp_path / "run.yaml"
    config.write_text("execution_mode: stop_on_failure\n")
    run_name = _run(base.with_options(config_path=config))
    assert _statuses(run_name)["6"] is S
    run_config = PipelineRunConfiguration(execution_mode=ExecutionMode.FAIL_FAST)
    run_name = _run(base.with_options(**run_config))
    assert _statuses(run_name)["3"] is X
