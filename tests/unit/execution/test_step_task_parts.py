"""A step task in two documents (the run's, the task's own) and what a process that runs
many tasks keeps per run: real stores and runs, no cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace import pipeline, step
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.spec import StepSpec
from headrace.execution.step_task import (
    CodeLocation,
    InputArtifact,
    StepTask,
    TaskSplitter,
    run_step_task,
    task_from_parts,
)
from headrace.execution.task_state import run_resources
from headrace.models import PipelineRunResponse
from headrace.store.base import Store
from headrace.store.factory import forget_stores, get_store


@step(enable_cache=False)
def double(x: int = 2) -> int:
    return 2 * x


@pipeline(enable_cache=False)
def doubling() -> None:
    double()


def _task(run: PipelineRunResponse, store: Store, invocation_id: str = "double") -> StepTask:
    stack = store.get_stack(run.stack_id)
    component = stack.artifact_store
    spec = doubling.compile().spec
    return StepTask(
        run_id=run.id,
        pipeline_name="doubling",
        invocation_id=invocation_id,
        step=spec.steps["double"].model_copy(update={"invocation_id": invocation_id}),
        pipeline_config=spec.config,
        snapshot_id=run.snapshot_id,
        code=None,
        inputs={},
        store_url=store.url,
        artifact_store={
            "flavor": component.flavor,
            "configuration": dict(component.configuration),
        },
        stack_id=run.stack_id,
        model_version_id=None,
    )


def _bare_task(run_id: str = "run-1", invocation_id: str = "a") -> StepTask:
    return StepTask(
        run_id=run_id,
        pipeline_name="p",
        invocation_id=invocation_id,
        step=StepSpec(
            invocation_id=invocation_id,
            step_name="a",
            source="module.a",
            code_hash="h",
            parameters={"rate": 0.5, "name": "é"},
        ),
        pipeline_config=PipelineConfiguration(enable_cache=False, environment={"A": "1"}),
        snapshot_id=None,
        code=CodeLocation("0" * 64, "/artifacts/code.tar.gz"),
        inputs={
            "x": [
                InputArtifact("v1", "/artifacts/runs/r/up.output", "m.M", "builtins.int", "c", None)
            ]
        },
        store_url="sqlite:////tmp/store.db",
        artifact_store={"flavor": "local", "configuration": {"path": "/artifacts"}},
        stack_id="stack",
        model_version_id=None,
    )


def test_the_two_documents_give_back_the_task() -> None:
    task = _bare_task()
    run_document, task_document = TaskSplitter().split(task)
    assert task_from_parts(run_document, task_document) == task
    # The task's own document holds no run field; the run's holds no step.
    assert "pipeline_config" not in json.loads(task_document)
    assert "step" not in json.loads(run_document)
    assert {**json.loads(run_document), **json.loads(task_document)} == task.to_dict()


def test_tasks_of_one_run_share_one_run_document() -> None:
    splitter = TaskSplitter()
    first, _ = splitter.split(_bare_task(invocation_id="a"))
    second, _ = splitter.split(_bare_task(invocation_id="b"))
    assert second is first  # serialised once, sent as it is
    other, _ = splitter.split(_bare_task(run_id="run-2"))
    assert json.loads(other)["run_id"] == "run-2"


def test_a_run_document_of_another_format_is_refused() -> None:
    run_document, task_document = TaskSplitter().split(_bare_task(run_id="run-format"))
    changed = json.dumps({**json.loads(run_document), "format": 99})
    with pytest.raises(ValueError, match="format 99 is not supported"):
        task_from_parts(changed, task_document)


def test_tasks_of_a_run_share_its_resources_in_a_process(repo: Path) -> None:
    store = get_store()
    first_run = doubling()
    second_run = doubling()
    resources = run_resources(_task(first_run, store))
    assert run_resources(_task(first_run, store, "double_again")) is resources
    assert resources.run.id == first_run.id
    assert run_resources(_task(second_run, store)) is not resources
    forget_stores()  # a store opened again: nothing of the closed one is reused
    reopened = get_store()
    assert run_resources(_task(first_run, reopened)).store is reopened


def test_a_task_runs_with_the_shared_resources_and_records_its_step(repo: Path) -> None:
    store = get_store()
    run = doubling()
    task = _task(run, store, "double_more")
    result = run_step_task(task_from_parts(*TaskSplitter().split(task)))
    assert str(result.status) == "completed"
    recorded = store.list_step_runs(run.id)["double_more"]
    assert recorded.outputs["output"][0].load() == 4


def test_an_inline_input_travels_in_the_task_as_base64() -> None:
    import pickle

    from headrace.exceptions import ArtifactIntegrityError

    record = InputArtifact(
        "v1", "/a/runs/r/up.output", "m.M", "builtins.int", "c", "3.11.7", inline=b"HRI1\xff"
    )
    text = json.dumps(record.to_dict())
    assert '"inline": "SFJJMf8="' in text
    back = InputArtifact.from_dict(json.loads(text))
    assert back.inline == b"HRI1\xff" and back == record
    assert pickle.loads(pickle.dumps(record)).inline == b"HRI1\xff"  # Ray ships records so
    assert "inline" not in InputArtifact("v", "/u", "m", "t", "c", None).to_dict()
    with pytest.raises(ArtifactIntegrityError, match="artifact version v1"):
        InputArtifact.from_dict({**record.to_dict(), "inline": "not base64!"})
