"""Dynamic pipelines, composition of pipelines, and wide fan-in."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from headrace import ExecutionMode, ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.config import StepRetryConfig
from headrace.exceptions import CompilationError, RunFailedError


@step
def load_data() -> list[int]:
    return [1, 2, 3]


@step
def train_model(data: list[int], model_type: str) -> dict:
    return {"model": model_type, "score": len(model_type) * sum(data)}


@step
def select_best(models: list[dict]) -> str:
    return max(models, key=lambda m: m["score"])["model"]


@step
def evaluate(model: str) -> dict:
    return {"acc": 0.8 if model == "lr" else 0.95}


@step
def retrain(model: str) -> str:
    return f"{model}-retrained"


@pipeline(dynamic=True)
def dynamic_training_pipeline(model_types: list[str]):
    """Train multiple models dynamically based on input list."""
    data = load_data()
    models = []
    for model_type in model_types:
        model = train_model.with_options(name=f"train_{model_type}")(
            data=data, model_type=model_type
        )
        models.append(model)
    best_model = select_best(models)
    return best_model


def test_seed_dynamic_pipeline(repo: Path) -> None:
    run = dynamic_training_pipeline(model_types=["lr", "forest", "svm"])
    assert run.status is ExecutionStatus.COMPLETED
    assert set(run.steps) == {"load_data", "train_lr", "train_forest", "train_svm", "select_best"}
    assert run.steps["select_best"].output.load() == "forest"
    assert run.outputs["output"].load() == "forest"
    assert run.steps["train_svm"].inputs["data"][0].id == run.steps["load_data"].output.id


def test_shape_depends_on_a_step_output(repo: Path) -> None:
    @pipeline(dynamic=True)
    def adaptive(model: str):
        metrics = evaluate(model)
        if metrics.load()["acc"] < 0.9:
            retrain(model)

    weak = adaptive(model="lr")
    strong = adaptive(model="forest")
    assert list(weak.steps) == ["evaluate", "retrain"]
    assert weak.steps["retrain"].output.load() == "lr-retrained"
    assert list(strong.steps) == ["evaluate"]


def test_independent_dynamic_steps_run_in_parallel(repo: Path) -> None:
    barrier = threading.Barrier(3, timeout=10)

    @step(enable_cache=False)
    def meet(i: int) -> int:
        barrier.wait()  # only passes if all three run at the same time
        return i

    @pipeline(dynamic=True, enable_cache=False)
    def together():
        for i in range(3):
            meet(i, id=f"meet_{i}")

    run = together()
    assert all(s.status is ExecutionStatus.COMPLETED for s in run.steps.values())


def test_caching_and_retries_apply_to_dynamic_steps(repo: Path) -> None:
    attempts: list[int] = []

    @step(retry=StepRetryConfig(max_retries=2))
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 2:
            raise ConnectionError("once")
        return x * 2

    @pipeline(dynamic=True)
    def p(x: int):
        flaky(x)

    first = p(x=4)
    assert first.steps["flaky"].attempts == 2
    second = p(x=4)
    assert second.steps["flaky"].status is ExecutionStatus.CACHED


def test_failure_modes_in_dynamic_pipelines(repo: Path) -> None:
    @step(enable_cache=False)
    def broken() -> int:
        raise ValueError("broken")

    @step(enable_cache=False)
    def after_broken(x: int) -> int:
        return x

    @step(enable_cache=False)
    def unrelated() -> int:
        time.sleep(0.2)
        return 1

    @pipeline(dynamic=True, enable_cache=False, execution_mode=ExecutionMode.CONTINUE_ON_FAILURE)
    def p():
        x = broken()
        after_broken(x)
        unrelated()

    with pytest.raises(RunFailedError, match="broken") as info:
        p()
    steps = info.value.run.steps  # type: ignore[attr-defined]
    assert steps["broken"].status is ExecutionStatus.FAILED
    assert steps["after_broken"].status is ExecutionStatus.SKIPPED
    assert steps["unrelated"].status is ExecutionStatus.COMPLETED


def test_loading_a_failed_output_fails_the_run_with_the_reason(repo: Path) -> None:
    @step(enable_cache=False)
    def broken() -> int:
        raise ValueError("broken")

    @pipeline(dynamic=True, enable_cache=False)
    def p():
        if broken().load() > 1:
            load_data()

    with pytest.raises(RunFailedError, match="broken"):
        p()
    run = Client().get_pipeline("p").last_run
    assert run.status is ExecutionStatus.FAILED
    assert "ended failed" in (run.status_reason or "")


def test_validation_happens_when_each_step_is_added(repo: Path) -> None:
    @pipeline(dynamic=True)
    def p():
        load_data()
        train_model(model_type="x")  # missing the data input

    with pytest.raises(RunFailedError):
        p()
    run = Client().get_pipeline("p").last_run
    assert "is missing its required input 'data'" in (run.status_reason or "")
    assert run.steps["load_data"].status is ExecutionStatus.COMPLETED


@step
def number(n: int) -> int:
    return n


@step
def add(a: int, b: int) -> int:
    return a + b


@pipeline
def inner(x: int = 1):
    return add(number(x), number(x, id="again"))


@pipeline
def middle(x: int = 1):
    y = inner(x)
    return add(y, number(10))


@pipeline
def outer():
    z = middle(2)
    add(z, inner(3))


def test_composition_three_deep(repo: Path) -> None:
    run = outer()
    steps = run.steps
    assert "middle.inner.add" in steps and "inner.add" in steps
    assert steps["middle.inner.number"].output.load() == 2
    assert steps["middle.add"].output.load() == 2 + 2 + 10
    assert steps["add"].output.load() == 14 + 6
    assert steps["add"].inputs["a"][0].id == steps["middle.add"].output.id


def test_fan_in_of_fifty_outputs(repo: Path) -> None:
    @step
    def gather(values: list[int]) -> int:
        return sum(values)

    @step
    def gather_dict(values: dict[str, int]) -> list[str]:
        return sorted(values)

    @pipeline
    def wide():
        outputs = [number(i, id=f"n{i}") for i in range(50)]
        gather(outputs)
        gather_dict({f"k{i}": outputs[i] for i in range(3)})

    run = wide()
    assert run.steps["gather"].output.load() == sum(range(50))
    assert len(run.steps["gather"].inputs["values"]) == 50
    assert run.steps["gather_dict"].output.load() == ["k0", "k1", "k2"]


def test_static_pipelines_still_refuse_values_at_compile_time() -> None:
    @pipeline
    def static():
        if number(1).load():
            number(2)

    with pytest.raises(CompilationError, match="dynamic=True"):
        static.compile()


def test_a_dynamic_run_records_the_graph_that_ran(repo: Path) -> None:
    @pipeline(dynamic=True)
    def adaptive(model: str):
        metrics = evaluate(model)
        if metrics.load()["acc"] < 0.9:
            retrain(model, after=["evaluate"])

    run = adaptive(model="lr")
    spec = Client().get_snapshot(run.snapshot_id).spec
    assert list(spec.steps) == ["evaluate", "retrain"]
    assert spec.steps["retrain"].upstream == ["evaluate"]
    other = adaptive(model="forest")
    assert list(Client().get_snapshot(other.snapshot_id).spec.steps) == ["evaluate"]
