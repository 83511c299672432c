"""Seed 002 (advanced features): the code each section describes, run against a real store.

Most samples of this page were lost; where the text describes one, the test holds the
natural code for it (only ``zenml`` -> ``headrace``). Helpers a sample uses without
defining get small bodies that record what happened, so each test checks what the text
claims.

Not covered here: "Dynamic Fan-out/Fan-in with Snapshots" (needs pipeline snapshots that
can be triggered from a step).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Annotated, Any, Tuple  # noqa: UP035  (the seed spells it Tuple)

import pytest

from headrace import get_step_context, pipeline, step
from headrace.client import Client
from headrace.config import StepRetryConfig
from headrace.config import retry_config as retry_config_module
from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.exceptions import (
    CompilationError,
    EntityExistsError,
    RunFailedError,
    StepInputTypeError,
    StepInterfaceError,
)

COMPLETED = ExecutionStatus.COMPLETED
CACHED = ExecutionStatus.CACHED
FAILED = ExecutionStatus.FAILED
SKIPPED = ExecutionStatus.SKIPPED
STOPPED = ExecutionStatus.STOPPED

EVENTS: list[Any] = []


@pytest.fixture(autouse=True)
def _reset_events() -> None:
    EVENTS.clear()


def statuses(run: Any) -> dict[str, ExecutionStatus]:
    return {name: step_run.status for name, step_run in run.steps.items()}


@step
def cached_step() -> int:
    EVENTS.append("cached_step")
    return 1


# == Execution Control ======================================================================
# -- Caching -------------------------------------------------------------------------------
@step(enable_cache=False)
def non_cached_step():
    pass


@pipeline
def pipeline_with_a_non_cached_step():
    cached_step()
    non_cached_step()


def test_step_level_enable_cache_false(repo: Path) -> None:
    first = pipeline_with_a_non_cached_step()
    second = pipeline_with_a_non_cached_step()

    assert statuses(first) == {"cached_step": COMPLETED, "non_cached_step": COMPLETED}
    assert statuses(second) == {"cached_step": CACHED, "non_cached_step": COMPLETED}
    assert second.steps["non_cached_step"].output.load() is None
    assert EVENTS == ["cached_step"]


def test_pipeline_level_enable_cache_false(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def my_pipeline():
        cached_step()

    my_pipeline()
    second = my_pipeline()

    assert statuses(second) == {"cached_step": COMPLETED}
    assert EVENTS == ["cached_step", "cached_step"]


def test_pipeline_with_only_an_ellipsis_body_runs_with_no_steps(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def my_pipeline(): ...

    run = my_pipeline()
    assert run.status is COMPLETED
    assert run.steps == {}


def test_configure_enable_cache_after_definition(repo: Path) -> None:
    @step
    def my_step() -> int:
        EVENTS.append("my_step")
        return 2

    @pipeline
    def my_pipeline():
        my_step()
        cached_step()

    assert statuses(my_pipeline()) == {"my_step": COMPLETED, "cached_step": COMPLETED}
    assert statuses(my_pipeline()) == {"my_step": CACHED, "cached_step": CACHED}

    my_step.configure(enable_cache=False)
    assert statuses(my_pipeline()) == {"my_step": COMPLETED, "cached_step": CACHED}

    my_pipeline.configure(enable_cache=False)
    assert statuses(my_pipeline()) == {"my_step": COMPLETED, "cached_step": COMPLETED}
    assert EVENTS.count("my_step") == 3 and EVENTS.count("cached_step") == 2


# -- Running Individual Steps --------------------------------------------------------------
@step
def my_step(a: int, b: int) -> int:
    EVENTS.append("called")
    return a + b


def test_calling_a_step_outside_a_pipeline_makes_an_unlisted_run(repo: Path) -> None:
    result = my_step(a=1, b=2)

    assert result == 3
    runs = Client().list_pipeline_runs()
    assert runs.total == 1
    (run,) = runs
    assert run.unlisted and run.pipeline_id is None
    assert run.status is COMPLETED
    assert list(run.steps) == ["my_step"]
    assert run.steps["my_step"].output.load() == 3


def test_entrypoint_bypasses_headrace(repo: Path) -> None:
    result = my_step.entrypoint(a=1, b=2)

    assert result == 3
    assert EVENTS == ["called"]
    assert Client().list_pipeline_runs().total == 0


def test_run_single_steps_without_stack_environment_variable(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_RUN_SINGLE_STEPS_WITHOUT_STACK", "True")

    result = my_step(a=1, b=2)

    assert result == 3
    assert EVENTS == ["called"]
    assert Client().list_pipeline_runs().total == 0


# -- Asynchronous Pipeline Execution -------------------------------------------------------
RELEASE = threading.Event()


@step(enable_cache=False)
def wait_for_release() -> str:
    if not RELEASE.wait(timeout=10):
        raise TimeoutError("never released")
    return "done"


@pipeline
def background_pipeline():
    wait_for_release()


def _check_runs_in_background(handle: Any) -> None:
    # The call returned while the step is still blocked: the run is not finished.
    assert not handle.refresh().status.is_finished
    RELEASE.set()
    run = handle.wait(timeout=10)
    assert run.status is COMPLETED
    assert run.steps["wait_for_release"].output.load() == "done"


def test_asynchronous_run_with_options(repo: Path) -> None:
    RELEASE.clear()

    handle = background_pipeline.with_options(synchronous=False)()

    _check_runs_in_background(handle)


def test_asynchronous_run_from_yaml(repo: Path) -> None:
    RELEASE.clear()
    Path("config.yaml").write_text("synchronous: false\n")

    handle = background_pipeline.with_options(config_path="config.yaml")()

    _check_runs_in_background(handle)


def test_asynchronous_through_orchestrator_settings(repo: Path) -> None:
    RELEASE.clear()

    @pipeline(settings={"orchestrator": {"synchronous": False}})
    def my_pipeline():
        wait_for_release()

    _check_runs_in_background(my_pipeline())


# -- Step Execution Order ------------------------------------------------------------------
@step
def step_1() -> None:
    time.sleep(0.05)  # would let step_2 start first if nothing ordered them
    EVENTS.append("step_1")


@step
def step_2() -> None:
    EVENTS.append("step_2")


@step
def step_3() -> None:
    EVENTS.append("step_3")


@pipeline(enable_cache=False)
def ordered_pipeline():
    # `step_2` will only run once `step_1` has finished
    step_1()
    step_2(after="step_1")
    # `step_3` will only run once `step_1` and `step_2` have finished
    step_3(after=["step_1", "step_2"])


def test_after_orders_steps_without_data(repo: Path) -> None:
    run = ordered_pipeline()

    assert run.status is COMPLETED
    assert list(run.steps) == ["step_1", "step_2", "step_3"]
    assert EVENTS == ["step_1", "step_2", "step_3"]
    steps = run.steps
    assert steps["step_1"].end_time <= steps["step_2"].start_time
    assert steps["step_2"].end_time <= steps["step_3"].start_time


def test_after_to_an_unknown_id_is_refused(repo: Path) -> None:
    @pipeline
    def broken_order():
        step_1(after="step_0")

    with pytest.raises(CompilationError, match="step_0"):
        broken_order()


# -- Execution Modes -----------------------------------------------------------------------
# The page's example: step 1 -> steps 2, 3, 4 in parallel -> steps 5, 6, 7 (one after
# each) -> step 8 after 5, 6 and 7. Step 2 fails once 2, 3 and 4 are all running.
BRANCHES_RUNNING = threading.Barrier(3, timeout=10)
STEP_2_FAILED = threading.Event()


@step(enable_cache=False)
def first() -> int:
    return 1


@step(enable_cache=False)
def failing_branch(x: int) -> int:
    BRANCHES_RUNNING.wait()
    STEP_2_FAILED.set()
    raise RuntimeError("step 2 failed")


@step(enable_cache=False)
def slow_branch(x: int, seconds: float) -> int:
    BRANCHES_RUNNING.wait()
    STEP_2_FAILED.wait(timeout=10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # short sleeps: a FAIL_FAST stop lands between them
        time.sleep(0.01)
    return x + 1


@step(enable_cache=False)
def follow_up(x: int) -> int:
    return x * 10


@step(enable_cache=False)
def join(a: int, b: int, c: int) -> int:
    return a + b + c


def eight_steps(branch_seconds: float = 0.3):
    out_1 = first(id="step_1")
    out_2 = failing_branch(out_1, id="step_2")
    out_3 = slow_branch(out_1, seconds=branch_seconds, id="step_3")
    out_4 = slow_branch(out_1, seconds=branch_seconds, id="step_4")
    out_5 = follow_up(out_2, id="step_5")
    out_6 = follow_up(out_3, id="step_6")
    out_7 = follow_up(out_4, id="step_7")
    join(out_5, out_6, out_7, id="step_8")


def _run_failing(pipeline_to_run: Any) -> Any:
    BRANCHES_RUNNING.reset()
    STEP_2_FAILED.clear()
    with pytest.raises(RunFailedError, match="step_2"):
        pipeline_to_run()
    run = Client().list_pipeline_runs()[0]
    assert run.status is FAILED
    return run


def test_fail_fast_stops_running_steps(repo: Path) -> None:
    @pipeline(execution_mode=ExecutionMode.FAIL_FAST)
    def my_pipeline():
        eight_steps(branch_seconds=20)

    started = time.monotonic()
    run = _run_failing(my_pipeline)

    assert time.monotonic() - started < 10  # steps 3 and 4 did not run their 20 s
    assert statuses(run) == {
        "step_1": COMPLETED,
        "step_2": FAILED,
        "step_3": STOPPED,
        "step_4": STOPPED,
        "step_5": SKIPPED,
        "step_6": SKIPPED,
        "step_7": SKIPPED,
        "step_8": SKIPPED,
    }


def test_stop_on_failure_lets_running_steps_finish(repo: Path) -> None:
    Path("config.yaml").write_text("execution_mode: STOP_ON_FAILURE\n")

    @pipeline
    def my_pipeline():
        eight_steps()

    run = _run_failing(my_pipeline.with_options(config_path="config.yaml"))

    assert statuses(run) == {
        "step_1": COMPLETED,
        "step_2": FAILED,
        "step_3": COMPLETED,
        "step_4": COMPLETED,
        "step_5": SKIPPED,
        "step_6": SKIPPED,
        "step_7": SKIPPED,
        "step_8": SKIPPED,
    }
    steps = run.steps
    assert steps["step_3"].end_time > steps["step_2"].end_time
    assert steps["step_3"].output.load() == 2


def test_continue_on_failure_runs_what_does_not_depend_on_the_failure(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        eight_steps()

    my_pipeline.configure(execution_mode=ExecutionMode.CONTINUE_ON_FAILURE)
    run = _run_failing(my_pipeline)

    assert statuses(run) == {
        "step_1": COMPLETED,
        "step_2": FAILED,
        "step_3": COMPLETED,
        "step_4": COMPLETED,
        "step_5": SKIPPED,
        "step_6": COMPLETED,
        "step_7": COMPLETED,
        "step_8": SKIPPED,
    }
    assert run.steps["step_6"].output.load() == 20


def test_execution_mode_through_with_options(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        eight_steps()

    run = _run_failing(my_pipeline.with_options(execution_mode=ExecutionMode.STOP_ON_FAILURE))

    assert run.steps["step_6"].status is SKIPPED
    assert run.steps["step_3"].status is COMPLETED


# == Data & Output Management ===============================================================
# -- Type annotations ----------------------------------------------------------------------
@step
def untyped_producer(value):
    return value * 2


@step
def typed_consumer(number: int) -> int:
    return number + 1


def test_steps_work_without_annotations(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        typed_consumer(untyped_producer(value=20))

    run = my_pipeline()
    assert run.steps["untyped_producer"].output.load() == 40
    assert run.steps["typed_consumer"].output.load() == 41


def test_inputs_are_validated_against_annotations(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        typed_consumer(untyped_producer(value="ab"))

    with pytest.raises(RunFailedError) as info:
        my_pipeline()
    assert isinstance(info.value.__cause__, StepInputTypeError)
    run = Client().list_pipeline_runs()[0]
    assert statuses(run) == {"untyped_producer": COMPLETED, "typed_consumer": FAILED}


def test_enforce_type_annotations(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_ENFORCE_TYPE_ANNOTATIONS", "True")

    @pipeline
    def my_pipeline():
        typed_consumer(untyped_producer(value=20))

    with pytest.raises(StepInterfaceError, match="untyped_producer"):
        my_pipeline()
    assert Client().list_pipeline_runs().total == 0

    @pipeline
    def typed_pipeline():
        typed_consumer(number=1)

    assert typed_pipeline().steps["typed_consumer"].output.load() == 2


# -- Tuple vs multiple outputs -------------------------------------------------------------
@step
def my_multi_output_step() -> Tuple[int, int]:  # noqa: UP006
    return 1, 2


@step
def my_tuple_output_step() -> Tuple[int, int]:  # noqa: UP006
    my_tuple = (1, 2)
    return my_tuple


def test_tuple_literal_return_means_several_outputs(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        my_multi_output_step()
        my_tuple_output_step()

    run = my_pipeline()

    multi = run.steps["my_multi_output_step"].outputs
    assert list(multi) == ["output_0", "output_1"]
    assert (multi["output_0"].load(), multi["output_1"].load()) == (1, 2)
    single = run.steps["my_tuple_output_step"].outputs
    assert list(single) == ["output"]
    assert single["output"].load() == (1, 2)


def test_multiple_outputs_feed_separate_steps(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        a, b = my_multi_output_step()
        typed_consumer(a, id="use_a")
        typed_consumer(b, id="use_b")

    run = my_pipeline()
    assert run.steps["use_a"].output.load() == 2
    assert run.steps["use_b"].output.load() == 3


# -- Step output names ---------------------------------------------------------------------
@step
def square_root(number: int) -> Annotated[float, "custom_output_name"]:
    return number**0.5


@step
def divide(a: int, b: int) -> Tuple[Annotated[int, "quotient"], Annotated[int, "remainder"]]:  # noqa: UP006
    return a // b, a % b


def test_custom_output_names(repo: Path) -> None:
    @pipeline
    def my_pipeline():
        square_root(number=16)
        divide(a=17, b=5)

    run = my_pipeline()

    assert list(run.steps["square_root"].outputs) == ["custom_output_name"]
    assert run.steps["square_root"].outputs["custom_output_name"].load() == 4.0
    outputs = run.steps["divide"].outputs
    assert list(outputs) == ["quotient", "remainder"]
    assert outputs["quotient"].load() == 3
    assert outputs["remainder"].load() == 2
    # Custom names are also the artifacts' names.
    assert Client().get_artifact_version("quotient").load() == 3


# == Workflow Patterns ======================================================================
# -- Pipeline Composition ------------------------------------------------------------------
@step
def training_data_loader_step() -> list[int]:
    return [1, 2, 3]


@step
def test_data_loader_step() -> list[int]:
    return [10, 20]


test_data_loader_step.__test__ = False  # a step of the sample, not a test


@step
def preprocessing_step(data: list[int]) -> list[int]:
    return [x * 2 for x in data]


@step
def training_step(data: list[int]) -> int:
    return sum(data)


@step
def evaluation_step(model: int, data: list[int]) -> bool:
    return model < sum(data)


@pipeline
def data_loading_pipeline(mode: str):
    if mode == "train":  # noqa: SIM108  (the sample's spelling)
        data = training_data_loader_step()
    else:
        data = test_data_loader_step()
    processed_data = preprocessing_step(data)
    return processed_data


@pipeline
def training_pipeline():
    training_data = data_loading_pipeline(mode="train")
    model = training_step(data=training_data)
    test_data = data_loading_pipeline(mode="test")
    evaluation_step(model=model, data=test_data)


def test_pipeline_composition(repo: Path) -> None:
    run = training_pipeline()

    assert run.status is COMPLETED
    steps = run.steps
    assert set(steps) == {
        "data_loading_pipeline.training_data_loader_step",
        "data_loading_pipeline.preprocessing_step",
        "training_step",
        "data_loading_pipeline.test_data_loader_step",
        "data_loading_pipeline.preprocessing_step_2",
        "evaluation_step",
    }
    assert steps["data_loading_pipeline.preprocessing_step"].output.load() == [2, 4, 6]
    assert steps["data_loading_pipeline.preprocessing_step_2"].output.load() == [20, 40]
    assert steps["training_step"].output.load() == 12
    assert steps["evaluation_step"].output.load() is True
    # The inner pipeline also runs on its own.
    alone = data_loading_pipeline(mode="test")
    assert alone.outputs["output"].load() == [20, 40]


# -- Fan-out and Fan-in --------------------------------------------------------------------
@step
def load_step() -> str:
    return "Hello from headrace!"


@step
def process_step(input_data: str) -> str:
    EVENTS.append(threading.get_ident())
    return input_data.upper()


@step
def combine_step(step_prefix: str, output_name: str) -> dict[str, str]:
    run_name = get_step_context().pipeline_run.name
    run = Client().get_pipeline_run(run_name)

    # Fetch all results from parallel processing steps
    processed_results = {}
    for step_name, step_info in run.steps.items():
        if step_name.startswith(step_prefix):
            output = step_info.outputs[output_name][0]
            processed_results[step_info.name] = output.load()

    # Combine all results
    return processed_results


@pipeline(enable_cache=False)
def fan_out_fan_in_pipeline(parallel_count: int) -> None:
    # Initial step (source)
    input_data = load_step()

    # Fan out: Process data in parallel branches
    after = []
    for i in range(parallel_count):
        artifact = process_step(input_data, id=f"process_{i}")
        after.append(artifact)

    # Fan in: Combine results from all parallel branches
    combine_step(step_prefix="process_", output_name="output", after=after)


def test_fan_out_fan_in_through_the_client(repo: Path) -> None:
    run = fan_out_fan_in_pipeline(parallel_count=4)

    assert run.status is COMPLETED
    names = list(run.steps)
    assert names[0] == "load_step" and names[-1] == "combine_step"
    assert set(names[1:-1]) == {f"process_{i}" for i in range(4)}
    assert run.steps["combine_step"].output.load() == {
        f"process_{i}": "HELLO FROM HEADRACE!" for i in range(4)
    }
    combine_start = run.steps["combine_step"].start_time
    assert all(run.steps[f"process_{i}"].end_time <= combine_start for i in range(4))


FAN_OUT_RUNNING = threading.Barrier(3, timeout=10)


@step
def process_chunk(chunk: list[int]) -> int:
    FAN_OUT_RUNNING.wait()  # all three branches must be running at once
    return sum(chunk)


@step
def aggregate(partial_sums: list[int]) -> int:
    return sum(partial_sums)


@pipeline
def direct_fan_in_pipeline(chunks: list[list[int]]) -> Annotated[int, "total"]:
    partial_sums = [process_chunk(chunk, id=f"chunk_{i}") for i, chunk in enumerate(chunks)]
    return aggregate(partial_sums)


def test_fan_out_runs_in_parallel_and_fan_in_takes_the_outputs_directly(repo: Path) -> None:
    FAN_OUT_RUNNING.reset()

    run = direct_fan_in_pipeline(chunks=[[1, 2], [3, 4], [5, 6]])

    assert run.status is COMPLETED
    assert run.outputs["total"].load() == 21
    assert [v.load() for v in run.steps["aggregate"].inputs["partial_sums"]] == [3, 7, 11]


# -- Custom Step Invocation IDs ------------------------------------------------------------
@step
def say(word: str = "hi") -> str:
    return word


@pipeline
def example_pipeline():
    say()
    say(after="say")
    say(word="custom", id="my_custom_invocation_id", after="say_2")


def test_invocation_ids_default_and_custom(repo: Path) -> None:
    run = example_pipeline()

    assert list(run.steps) == ["say", "say_2", "my_custom_invocation_id"]
    custom = Client().get_pipeline_run(run.id).steps["my_custom_invocation_id"]
    assert custom.step_name == "say"
    assert custom.output.load() == "custom"


def test_invocation_ids_must_be_unique(repo: Path) -> None:
    @pipeline
    def clashing():
        say(id="twice")
        say(id="twice")

    with pytest.raises(CompilationError, match="twice"):
        clashing()


# -- Named Pipeline Runs -------------------------------------------------------------------
@pipeline
def named_pipeline():
    say()


def test_default_run_name_has_pipeline_date_and_time(repo: Path) -> None:
    run = named_pipeline()
    assert re.fullmatch(r"named_pipeline-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}_\d{6}", run.name)


def test_run_name_from_with_options(repo: Path) -> None:
    training_pipeline = named_pipeline.with_options(run_name="custom_pipeline_run_name")
    run = training_pipeline()

    assert run.name == "custom_pipeline_run_name"
    assert Client().get_pipeline_run("custom_pipeline_run_name").id == run.id
    # Run names are unique.
    with pytest.raises(EntityExistsError):
        training_pipeline()


def test_run_name_placeholders(repo: Path) -> None:
    templated = named_pipeline.with_options(
        run_name="{experiment}_run_{date}_{time}", substitutions={"experiment": "exp1"}
    )
    first = templated()
    second = templated()

    pattern = r"exp1_run_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}_\d{6}"
    assert re.fullmatch(pattern, first.name)
    assert re.fullmatch(pattern, second.name)
    assert first.name != second.name


# == Error Handling & Reliability ===========================================================
# -- Automatic Step Retries ----------------------------------------------------------------
@step(
    retry=StepRetryConfig(
        max_retries=3,
        delay=10,
        backoff=2,
    )
)
def always_failing_step() -> None:
    # Step implementation
    raise Exception("This is a test exception")


def test_retry_waits_grow_by_the_backoff_factor() -> None:
    assert retry_config_module.StepRetryConfig is StepRetryConfig
    retry = always_failing_step.configuration.retry
    # Wait 10 s before the first retry, 20 s before the second, 40 s before the third.
    assert [retry.wait_before(n) for n in (1, 2, 3)] == [10, 20, 40]


def test_retries_then_fail_the_pipeline(repo: Path) -> None:
    # The sample's schedule (10 + 20 + 40 s) scaled down a thousand times.
    quick = always_failing_step.with_options(
        retry=StepRetryConfig(max_retries=3, delay=0.01, backoff=2)
    )

    @pipeline(enable_cache=False)
    def retrying_pipeline():
        quick()

    with pytest.raises(RunFailedError, match="always_failing_step"):
        retrying_pipeline()
    step_run = Client().list_pipeline_runs()[0].steps["always_failing_step"]
    assert step_run.status is FAILED
    assert step_run.attempts == 4
    assert step_run.duration >= 0.07
    assert step_run.error.message == "This is a test exception"


ATTEMPTS = {"count": 0}


@step(retry=StepRetryConfig(max_retries=3, delay=0.01, backoff=2), enable_cache=False)
def flaky_step() -> int:
    ATTEMPTS["count"] += 1
    if ATTEMPTS["count"] < 3:
        raise ConnectionError("temporarily unavailable")
    return ATTEMPTS["count"]


def test_a_transient_failure_is_retried_until_it_succeeds(repo: Path) -> None:
    ATTEMPTS["count"] = 0

    @pipeline
    def flaky_pipeline():
        flaky_step()

    run = flaky_pipeline()

    assert run.status is COMPLETED
    step_run = run.steps["flaky_step"]
    assert step_run.status is COMPLETED
    assert step_run.attempts == 3
    assert step_run.output.load() == 3


# == Monitoring & Notifications =============================================================
# -- Pipeline and Step Hooks ---------------------------------------------------------------
def on_failure(exception: BaseException):
    print(f"Step failed: {exception!s}")


def on_success():
    print("Step succeeded!")


@step(on_failure=on_failure)
def my_failing_step() -> int:
    raise ValueError("Error")


@step(on_success=on_success)
def my_successful_step() -> int:
    return 1


def test_step_hooks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    @pipeline
    def my_pipeline():
        my_successful_step()
        my_failing_step()

    with pytest.raises(RunFailedError):
        my_pipeline()

    out = capsys.readouterr().out
    assert out.count("Step succeeded!") == 1
    assert out.count("Step failed: Error") == 1
    run = Client().list_pipeline_runs()[0]
    assert statuses(run) == {"my_successful_step": COMPLETED, "my_failing_step": FAILED}


def record_pipeline_success():
    EVENTS.append(("pipeline success", get_step_context().invocation_id))


def record_pipeline_failure(exception: BaseException):
    EVENTS.append(("pipeline failure", str(exception)))


def record_step_success():
    EVENTS.append(("step success", get_step_context().invocation_id))


@step(on_success=record_step_success)
def step_with_its_own_hook() -> int:
    return 1


@step
def plain_step() -> int:
    return 2


@step
def plain_failing_step() -> int:
    raise KeyError("missing")


def test_pipeline_hooks_apply_to_every_step_and_step_hooks_win(repo: Path) -> None:
    @pipeline(on_failure=record_pipeline_failure, on_success=record_pipeline_success)
    def my_pipeline():
        step_with_its_own_hook()
        plain_step(after="step_with_its_own_hook")
        plain_failing_step(after="plain_step")

    with pytest.raises(RunFailedError):
        my_pipeline()

    assert EVENTS == [
        ("step success", "step_with_its_own_hook"),
        ("pipeline success", "plain_step"),
        ("pipeline failure", "'missing'"),
    ]


# -- Accessing Step Context in Hooks -------------------------------------------------------
def on_failure_with_context(exception: BaseException):
    context = get_step_context()
    print(context.step_run.name)  # Output will be `my_step`
    print(context.step_run.parameters)  # Print parameters of the step
    print(type(exception))  # Of type value error
    print("Step has failed!")


@step(on_failure=on_failure_with_context)
def my_step_with_context(some_parameter: int = 1):
    raise ValueError("My exception")


def test_step_context_in_a_failure_hook(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    @pipeline
    def my_pipeline():
        my_step_with_context(some_parameter=5)

    with pytest.raises(RunFailedError):
        my_pipeline()

    out = capsys.readouterr().out.splitlines()
    assert out[-4:] == [
        "my_step_with_context",
        "{'some_parameter': 5}",
        "<class 'ValueError'>",
        "Step has failed!",
    ]
    step_run = Client().list_pipeline_runs()[0].steps["my_step_with_context"]
    assert step_run.hook_errors == []


# -- Using Alerter in Hooks ----------------------------------------------------------------
@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A webhook receiver on 127.0.0.1; the alerter hooks post to it."""
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HEADRACE_ALERTER_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/")
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def test_built_in_alerter_hooks(repo: Path, webhook: list[dict[str, Any]]) -> None:
    from headrace.hooks import alerter_failure_hook, alerter_success_hook

    @step(on_failure=alerter_failure_hook, on_success=alerter_success_hook)
    def my_step(fail: bool) -> int:
        if fail:
            raise ValueError("bad input")
        return 1

    @pipeline(enable_cache=False)
    def my_pipeline():
        my_step(fail=False, id="good")
        my_step(fail=True, id="bad", after="good")

    with pytest.raises(RunFailedError):
        my_pipeline()

    by_step = {message["invocation_id"]: message for message in webhook}
    assert set(by_step) == {"good", "bad"}
    assert by_step["good"]["error"] is None
    assert by_step["bad"]["error"] == "ValueError: bad input"
    run = Client().list_pipeline_runs()[0]
    assert {m["run"] for m in webhook} == {run.name}


def test_module_paths_of_the_seed() -> None:
    from headrace.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from headrace.artifacts.utils import load_artifact
    from headrace.config import CachePolicy, DockerSettings, Schedule
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration

    assert {c.__name__ for c in (CachePolicy, DockerSettings, Schedule)} == {
        "CachePolicy",
        "DockerSettings",
        "Schedule",
    }
    assert PipelineRunConfiguration.__name__ == "PipelineRunConfiguration"
    assert UnmaterializedArtifact.__name__ == "UnmaterializedArtifact"
    assert callable(load_artifact)
