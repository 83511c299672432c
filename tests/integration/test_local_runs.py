"""Real pipelines against a real SQLite store and real artifact files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.exceptions import RunFailedError, StepInputTypeError


@step
def make_numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(numbers: list[int]) -> int:
    return sum(numbers)


@step
def split(numbers: list[int]) -> tuple[Annotated[list[int], "evens"], Annotated[list[int], "odds"]]:
    return [x for x in numbers if x % 2 == 0], [x for x in numbers if x % 2]


@step
def explode(value: int) -> int:
    raise ValueError(f"cannot handle {value}")


@pipeline(enable_cache=False)
def sum_pipeline(n: int = 5) -> Annotated[int, "sum"]:
    return total(make_numbers(n))


@pytest.mark.usefixtures("artifacts_as_files")  # checks the files themselves
def test_run_records_steps_outputs_and_artifacts(repo: Path) -> None:
    run = sum_pipeline(n=4)

    assert run.status is ExecutionStatus.COMPLETED
    assert list(run.steps) == ["make_numbers", "total"]
    assert run.steps["make_numbers"].outputs["output"].load() == [0, 1, 2, 3]
    assert run.steps["total"].output.load() == 6
    assert run.outputs["sum"].load() == 6
    assert run.parameters == {"n": 4}
    version = run.steps["total"].output
    assert Path(version.uri).is_dir()
    assert version.size > 0 and version.content_hash.startswith("blake3:")
    assert version.producer_step_run_id == run.steps["total"].id


def test_client_reads_pipelines_and_runs(repo: Path) -> None:
    first = sum_pipeline(n=2)
    second = sum_pipeline(n=3)
    client = Client()

    pipeline_model = client.get_pipeline("sum_pipeline")
    assert pipeline_model.last_run.id == second.id
    assert [r.id for r in pipeline_model.runs] == [second.id, first.id]
    assert client.get_pipeline_run(first.name).id == first.id
    assert client.get_pipeline_run(first.id[:8]).id == first.id
    assert client.list_pipeline_runs(pipeline_name="sum_pipeline").total == 2


def test_artifact_versions_are_numbered(repo: Path) -> None:
    sum_pipeline(n=2)
    sum_pipeline(n=3)
    versions = Client().list_artifact_versions(
        artifact_name="sum_pipeline::total::output", sort_by="asc:created"
    )
    assert [v.version for v in versions] == ["1", "2"]
    assert [v.load() for v in versions] == [1, 3]


def test_multiple_named_outputs(repo: Path) -> None:
    @pipeline
    def split_pipeline() -> None:
        evens, odds = split(make_numbers(5))
        total(evens, id="sum_evens")
        total(odds, id="sum_odds")

    run = split_pipeline()
    assert set(run.steps["split"].outputs) == {"evens", "odds"}
    assert run.steps["sum_evens"].output.load() == 6
    assert run.steps["sum_odds"].output.load() == 4


def test_failing_step_fails_run_and_keeps_completed_work(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def failing() -> None:
        explode(total(make_numbers(3)))

    with pytest.raises(RunFailedError, match="explode") as info:
        failing()
    assert isinstance(info.value.__cause__, ValueError)
    run = Client().get_pipeline("failing").last_run
    assert run.status is ExecutionStatus.FAILED
    steps = run.steps
    assert steps["total"].status is ExecutionStatus.COMPLETED
    assert steps["total"].output.load() == 3
    error = steps["explode"].error
    assert error is not None and error.type == "ValueError"
    assert "cannot handle 3" in error.message and "Traceback" in error.traceback


def test_parameter_of_wrong_type_is_refused(repo: Path) -> None:
    @pipeline
    def typed() -> None:
        make_numbers("many")  # type: ignore[arg-type]

    with pytest.raises(RunFailedError) as info:
        typed()
    assert isinstance(info.value.__cause__, StepInputTypeError)
    assert "'make_numbers' parameter 'n'" in str(info.value.__cause__)


def test_single_step_call_outside_pipeline(repo: Path) -> None:
    assert total([1, 2, 3]) == 6
    runs = Client().list_pipeline_runs()
    assert runs.total == 1 and runs[0].unlisted and runs[0].pipeline_id is None
    assert total.entrypoint([4]) == 4
