"""Step retries: waits, recorded attempts, exhaustion."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.config import StepRetryConfig
from headrace.exceptions import RunFailedError

CALLS: list[int] = []


@step(enable_cache=False, retry=StepRetryConfig(max_retries=3, delay=0.01, backoff=2))
def flaky(fail_times: int) -> int:
    CALLS.append(1)
    if len(CALLS) <= fail_times:
        raise ConnectionError(f"attempt {len(CALLS)} failed")
    return len(CALLS)


@pipeline(enable_cache=False)
def retrying(fail_times: int) -> None:
    flaky(fail_times)


def test_waits_double_with_backoff() -> None:
    retry = StepRetryConfig(max_retries=3, delay=10, backoff=2)
    assert [retry.wait_before(n) for n in (1, 2, 3)] == [10, 20, 40]
    assert StepRetryConfig(max_retries=2, delay=5).wait_before(2) == 5


def test_a_step_succeeds_after_failed_attempts(repo: Path) -> None:
    CALLS.clear()
    run = retrying(fail_times=2)
    step_run = run.steps["flaky"]
    assert step_run.status is ExecutionStatus.COMPLETED
    assert step_run.output.load() == 3
    assert step_run.attempts == 3
    assert [e.message for e in step_run.attempt_errors] == ["attempt 1 failed", "attempt 2 failed"]
    assert all(e.type == "ConnectionError" for e in step_run.attempt_errors)


def test_a_step_fails_when_retries_are_exhausted(repo: Path) -> None:
    CALLS.clear()
    with pytest.raises(RunFailedError) as info:
        retrying(fail_times=10)
    assert isinstance(info.value.__cause__, ConnectionError)
    step_run = info.value.run.steps["flaky"]  # type: ignore[attr-defined]
    assert step_run.status is ExecutionStatus.FAILED
    assert len(CALLS) == 4 and step_run.attempts == 4
    assert len(step_run.attempt_errors) == 4
    assert step_run.error is not None and step_run.error.message == "attempt 4 failed"


def test_pipeline_retry_is_the_default_for_its_steps(repo: Path) -> None:
    attempts: list[int] = []

    @step(enable_cache=False)
    def wobbly() -> int:
        attempts.append(1)
        if len(attempts) < 2:
            raise ValueError("once")
        return 1

    @pipeline(enable_cache=False, retry=StepRetryConfig(max_retries=1))
    def p() -> None:
        wobbly()

    assert p().steps["wobbly"].attempts == 2


def test_retry_in_yaml(repo: Path, tmp_path: Path) -> None:
    attempts: list[int] = []

    @step(enable_cache=False)
    def wobbly() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return 1

    @pipeline(enable_cache=False)
    def p() -> None:
        wobbly()

    config = tmp_path / "retry.yaml"
    config.write_text("steps:\n  wobbly:\n    retry:\n      max_retries: 2\n      delay: 0\n")
    assert p.with_options(config_path=config)().steps["wobbly"].attempts == 3
