"""Seed 001 (pipelines): every code sample, run as written against a real store.

Only ``zenml`` became ``headrace`` in the imports. Helper steps and functions that a
sample uses without defining get small bodies here; where a sample makes a claim
(parallel branches, hooks that run, caching) the helpers record what happened so the
test can check the claim.

Not covered here: the scheduled run (``simple_pipeline.run(schedule=...)``) needs a
server, so ``tests/integration/server/test_schedules_server.py`` runs it against one;
the dynamic pipeline (``dynamic=True``) is a feature of a later issue.
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest

from headrace import Model, get_step_context, pipeline, step
from headrace.client import Client
from headrace.config import CachePolicy, DockerSettings, PipelineRunConfiguration, Schedule
from headrace.config import pipeline_run_configuration as run_configuration_module
from headrace.enums import ExecutionStatus
from headrace.exceptions import CompilationError, RunFailedError

COMPLETED = ExecutionStatus.COMPLETED
CACHED = ExecutionStatus.CACHED

# What the helpers saw, reset before each test.
EVENTS: list[Any] = []


@pytest.fixture(autouse=True)
def _reset_events() -> None:
    EVENTS.clear()


# -- "Creating a Pipeline" -----------------------------------------------------------------
@step
def simple_step(name: str) -> str:
    return f"Hello {name}!"


@pipeline
def simple_pipeline(name: str = "World") -> Annotated[str, "greeting"]:
    """A simple pipeline that demonstrates ZenML basics.

    Args:
        name: Name to include in greeting

    Returns:
        A greeting message as an artifact
    """
    greeting = simple_step(name=name)
    return greeting


def test_simple_pipeline_returns_its_greeting_artifact(repo: Path) -> None:
    run = simple_pipeline()

    assert run.status is COMPLETED
    assert list(run.steps) == ["simple_step"]
    assert run.parameters == {"name": "World"}
    assert run.steps["simple_step"].parameters == {"name": "World"}
    assert run.outputs["greeting"].load() == "Hello World!"
    assert run.steps["simple_step"].output.load() == "Hello World!"
    assert Client().get_pipeline("simple_pipeline").last_run.id == run.id


# -- "Local Execution" ---------------------------------------------------------------------
def test_local_execution_with_a_parameter(repo: Path) -> None:
    # The sample: `if __name__ == "__main__": simple_pipeline(name="Alice")`
    run = simple_pipeline(name="Alice")

    assert run.status is COMPLETED
    assert run.parameters == {"name": "Alice"}
    assert run.outputs["greeting"].load() == "Hello Alice!"


# -- "Pipeline Parameters": every decorator option ------------------------------------------
@step
def load_data() -> list[int]:
    print("loading data")
    return [1, 2, 3, 4]


@step
def train_model(data: list[int]) -> float:
    return sum(data) / len(data)


@step
def evaluate_model(model: float) -> bool:
    return model > 2


def alert_on_failure(exception: BaseException) -> None:
    EVENTS.append(("failure", str(exception)))


def notify_on_success() -> None:
    EVENTS.append(("success", get_step_context().invocation_id))


docker_settings = DockerSettings(requirements=["scikit-learn"], parent_image="python:3.11-slim")


@pipeline(
    name="my_pipeline",  # Override default name
    enable_cache=True,  # Enable step caching
    enable_artifact_metadata=True,  # Track artifact metadata
    enable_step_logs=True,  # Capture step logs
    settings={"docker": docker_settings},  # Configure stack settings
    tags=["production", "v1.0"],  # Add tags for filtering
    model=Model(name="my_model"),  # Link to model registry
    on_failure=alert_on_failure,  # Failure callback
    on_success=notify_on_success,  # Success callback
)
def training_pipeline():
    data = load_data()
    model = train_model(data)
    evaluate_model(model)


def test_pipeline_decorator_options(repo: Path) -> None:
    run = training_pipeline()

    assert run.status is COMPLETED
    assert run.pipeline_name == "my_pipeline"
    assert Client().get_pipeline("my_pipeline").last_run.id == run.id
    assert sorted(run.tags) == ["production", "v1.0"]
    assert list(run.steps) == ["load_data", "train_model", "evaluate_model"]
    assert run.steps["train_model"].output.load() == 2.5
    assert run.steps["evaluate_model"].output.load() is True
    # Pipeline-level hooks apply to every step; nothing failed.
    assert EVENTS == [
        ("success", "load_data"),
        ("success", "train_model"),
        ("success", "evaluate_model"),
    ]
    # Step logs are captured.
    assert "loading data" in run.steps["load_data"].logs
    # Artifact metadata is recorded.
    assert run.steps["train_model"].output.metadata["storage_size"] > 0


def test_pipeline_options_cannot_be_passed_when_calling(repo: Path) -> None:
    # "Pipeline parameters (name, enable_cache, etc.) can only be passed to the @pipeline
    # decorator, not when calling the pipeline."
    with pytest.raises(CompilationError, match="enable_cache"):
        simple_pipeline(name="Alice", enable_cache=False)
    assert Client().list_pipeline_runs().total == 0


def test_failure_hook_of_the_decorator_gets_the_exception(repo: Path) -> None:
    @step
    def broken() -> None:
        raise RuntimeError("disk full")

    @pipeline(on_failure=alert_on_failure, on_success=notify_on_success)
    def failing_pipeline():
        broken()

    with pytest.raises(RunFailedError):
        failing_pipeline()
    assert EVENTS == [("failure", "disk full")]


# -- "Scheduled Execution": only the configuration object ---------------------------------
def test_schedule_configuration_object() -> None:
    schedule = Schedule(cron_expression="0 2 * * *")  # Daily at 2 AM

    assert schedule.cron_expression == "0 2 * * *"
    with pytest.raises(ValueError):
        Schedule(cron_expression="every day at two")


# -- "With Configuration Override" -----------------------------------------------------------
def test_run_configuration_override(repo: Path) -> None:
    assert run_configuration_module.PipelineRunConfiguration is PipelineRunConfiguration
    first = simple_pipeline(name="Bob")
    assert first.steps["simple_step"].status is COMPLETED

    run_config = PipelineRunConfiguration(enable_cache=False, run_name="experimental_run")

    run = simple_pipeline.with_options(**run_config)(name="Bob")

    assert run.name == "experimental_run"
    assert run.status is COMPLETED
    # Cache off: the step ran again although an equal run exists.
    assert run.steps["simple_step"].status is COMPLETED
    assert run.outputs["greeting"].load() == "Hello Bob!"
    assert Client().get_pipeline_run("experimental_run").id == run.id
    # with_options returned a copy: the pipeline itself still caches.
    assert simple_pipeline(name="Bob").steps["simple_step"].status is CACHED


# -- "Implicit Dependencies" ---------------------------------------------------------------
@step
def preprocess(data: list[int]) -> list[int]:
    EVENTS.append("preprocess")
    return [x * 10 for x in data]


@step
def train(data: list[int]) -> int:
    EVENTS.append("train")
    return max(data)


@step
def evaluate(model: int) -> str:
    EVENTS.append("evaluate")
    return f"best={model}"


@pipeline
def ml_pipeline():
    # ZenML automatically determines execution order
    raw_data = load_data()  # Runs first
    clean_data = preprocess(raw_data)  # Runs second (depends on load_data)
    model = train(clean_data)  # Runs third (depends on preprocess)
    metrics = evaluate(model)  # Runs fourth (depends on train)  # noqa: F841


def test_implicit_dependencies_order_the_steps(repo: Path) -> None:
    run = ml_pipeline()

    assert run.status is COMPLETED
    assert list(run.steps) == ["load_data", "preprocess", "train", "evaluate"]
    assert EVENTS == ["preprocess", "train", "evaluate"]
    steps = list(run.steps.values())
    for before, after in itertools.pairwise(steps):
        assert before.end_time <= after.start_time
    assert run.steps["preprocess"].inputs["data"].load() == [1, 2, 3, 4]
    assert run.steps["evaluate"].output.load() == "best=40"


# -- "Parallel Execution" ------------------------------------------------------------------
# Each trainer waits until all three are running: if they ran one after another, the
# barrier would time out and the run would fail.
TRAINERS_RUNNING = threading.Barrier(3, timeout=10)


@step
def train_model_a(data: list[int]) -> int:
    TRAINERS_RUNNING.wait()
    return sum(data)


@step
def train_model_b(data: list[int]) -> int:
    TRAINERS_RUNNING.wait()
    return max(data)


@step
def train_model_c(data: list[int]) -> int:
    TRAINERS_RUNNING.wait()
    return min(data)


@step
def compare_models(a: int, b: int, c: int) -> int:
    return max(a, b, c)


@pipeline
def parallel_pipeline():
    data = load_data()

    # These three steps run in parallel (no dependencies between them)
    train_result = train_model_a(data)
    test_result = train_model_b(data)
    baseline = train_model_c(data)

    # This step waits for all three to complete
    best = compare_models(train_result, test_result, baseline)  # noqa: F841


def test_independent_steps_run_in_parallel(repo: Path) -> None:
    TRAINERS_RUNNING.reset()

    run = parallel_pipeline()

    assert run.status is COMPLETED
    steps = run.steps
    names = list(steps)
    assert names[0] == "load_data" and names[-1] == "compare_models"
    assert set(names[1:4]) == {"train_model_a", "train_model_b", "train_model_c"}
    trainers = [steps[n] for n in ("train_model_a", "train_model_b", "train_model_c")]
    assert all(s.status is COMPLETED for s in trainers)
    assert max(s.start_time for s in trainers) < min(s.end_time for s in trainers)
    assert steps["compare_models"].start_time >= max(s.end_time for s in trainers)
    assert steps["compare_models"].output.load() == 10


# -- "Initialization Hook" -----------------------------------------------------------------
def setup_environment():
    """Run before pipeline starts."""
    print("Setting up environment...")
    return {"start_time": datetime.now()}


@step
def process_data() -> None:
    EVENTS.append(get_step_context().pipeline_state)


@pipeline(on_init=setup_environment)
def my_pipeline():
    process_data()


def test_init_hook_runs_first_and_its_value_reaches_steps(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now()

    run = my_pipeline()

    assert run.status is COMPLETED
    assert "Setting up environment..." in capsys.readouterr().out
    (state,) = EVENTS
    assert set(state) == {"start_time"}
    assert before <= state["start_time"] <= datetime.now()


# -- "Success and Failure Hooks" -----------------------------------------------------------
def send_notification(message: str) -> None:
    EVENTS.append(("notify", message))


def log_error(exception: BaseException) -> None:
    EVENTS.append(("log", type(exception).__name__))


def alert_team(message: str) -> None:
    EVENTS.append(("alert", message))


def on_success():
    """Called when pipeline completes successfully."""
    send_notification("Pipeline succeeded!")


def on_failure(exception: BaseException):
    """Called when pipeline fails."""
    log_error(exception)
    alert_team(f"Pipeline failed: {exception}")


SHOULD_FAIL = {"value": False}


@step
def risky_step() -> int:
    if SHOULD_FAIL["value"]:
        raise ConnectionError("service unavailable")
    return 1


@pipeline(on_success=on_success, on_failure=on_failure)
def robust_pipeline():
    risky_step()


def test_success_hook_runs_when_the_pipeline_succeeds(repo: Path) -> None:
    SHOULD_FAIL["value"] = False

    run = robust_pipeline.with_options(enable_cache=False)()

    assert run.status is COMPLETED
    assert EVENTS == [("notify", "Pipeline succeeded!")]


def test_failure_hook_runs_with_the_exception(repo: Path) -> None:
    SHOULD_FAIL["value"] = True
    try:
        with pytest.raises(RunFailedError) as info:
            robust_pipeline.with_options(enable_cache=False)()
    finally:
        SHOULD_FAIL["value"] = False

    assert isinstance(info.value.__cause__, ConnectionError)
    assert EVENTS == [
        ("log", "ConnectionError"),
        ("alert", "Pipeline failed: service unavailable"),
    ]
    run = Client().get_pipeline("robust_pipeline").last_run
    assert run.status is ExecutionStatus.FAILED
    assert run.steps["risky_step"].status is ExecutionStatus.FAILED


# -- "Cleanup Hook" ------------------------------------------------------------------------
def close_connections() -> None:
    EVENTS.append("close_connections")


def release_resources() -> None:
    EVENTS.append("release_resources")


def cleanup():
    """Always runs at the end, even if pipeline fails."""
    close_connections()
    release_resources()


@step
def allocate_resources() -> str:
    EVENTS.append("allocate_resources")
    return "handle"


@step
def do_work() -> None:
    EVENTS.append("do_work")
    if SHOULD_FAIL["value"]:
        raise RuntimeError("work failed")


@pipeline(on_cleanup=cleanup)
def pipeline_with_cleanup():
    allocate_resources()
    do_work()


def test_cleanup_hook_runs_after_the_steps(repo: Path) -> None:
    run = pipeline_with_cleanup()

    assert run.status is COMPLETED
    assert EVENTS[-2:] == ["close_connections", "release_resources"]
    assert set(EVENTS[:2]) == {"allocate_resources", "do_work"}


def test_cleanup_hook_runs_even_if_the_pipeline_fails(repo: Path) -> None:
    SHOULD_FAIL["value"] = True
    try:
        with pytest.raises(RunFailedError):
            pipeline_with_cleanup.with_options(enable_cache=False)()
    finally:
        SHOULD_FAIL["value"] = False

    assert "do_work" in EVENTS
    assert EVENTS[-2:] == ["close_connections", "release_resources"]


# -- "Environment Variables" ---------------------------------------------------------------
@step
def train_on_gpu() -> dict[str, str]:
    return {key: os.environ[key] for key in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")}


@pipeline(environment={"CUDA_VISIBLE_DEVICES": "0,1", "OMP_NUM_THREADS": "4"})
def gpu_pipeline():
    train_on_gpu()


def test_pipeline_environment_is_set_for_its_steps(repo: Path) -> None:
    run = gpu_pipeline()

    assert run.status is COMPLETED
    assert run.steps["train_on_gpu"].output.load() == {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "OMP_NUM_THREADS": "4",
    }
    # Set for the run only.
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
    assert "OMP_NUM_THREADS" not in os.environ


# -- "Secrets Integration" -----------------------------------------------------------------
@step
def upload_to_s3() -> str:
    # Secrets are available as environment variables
    return f"{os.environ['AWS_ACCESS_KEY_ID']}:{os.environ['API_TOKEN']}"


@pipeline(secrets=["aws_credentials", "api_keys"])
def secure_pipeline():
    # Secrets are available as environment variables
    upload_to_s3()


def test_pipeline_secrets_become_environment_variables(repo: Path) -> None:
    client = Client()
    client.create_secret("aws_credentials", {"aws_access_key_id": "AKIA-test"})
    client.create_secret("api_keys", {"api_token": "t0ken"})

    run = secure_pipeline()

    assert run.status is COMPLETED
    assert run.steps["upload_to_s3"].output.load() == "AKIA-test:t0ken"
    assert "AWS_ACCESS_KEY_ID" not in os.environ


def test_missing_secret_fails_the_run_before_any_step(repo: Path) -> None:
    with pytest.raises(RunFailedError, match="aws_credentials"):
        secure_pipeline()
    run = Client().get_pipeline("secure_pipeline").last_run
    assert run.status is ExecutionStatus.FAILED
    assert run.steps == {}


# -- "Stack Settings" ----------------------------------------------------------------------
@step
def train_in_container() -> str:
    return "trained"


docker_settings = DockerSettings(
    requirements=["tensorflow==2.13.0", "pandas"],
    parent_image="tensorflow/tensorflow:latest-gpu",
)


@pipeline(settings={"docker": docker_settings})
def containerized_pipeline():
    train_in_container()


def test_docker_settings_are_kept_with_the_run(repo: Path) -> None:
    run = containerized_pipeline()

    assert run.status is COMPLETED
    assert run.steps["train_in_container"].output.load() == "trained"
    snapshot = Client().store.get_snapshot(run.snapshot_id)
    docker = snapshot.spec.config.settings["docker"]
    docker = docker.model_dump() if hasattr(docker, "model_dump") else docker
    assert docker["parent_image"] == "tensorflow/tensorflow:latest-gpu"
    assert docker["requirements"] == ["tensorflow==2.13.0", "pandas"]


# -- "Caching" -----------------------------------------------------------------------------
@step
def expensive_data_loading() -> list[int]:
    EVENTS.append("expensive_data_loading")
    return list(range(5))


@pipeline(enable_cache=True)  # Default is True
def cached_pipeline():
    data = expensive_data_loading()  # Cached after first run
    model = train_model(data)  # Only reruns if data changes  # noqa: F841


def test_second_run_is_served_from_the_cache(repo: Path) -> None:
    first = cached_pipeline()
    second = cached_pipeline()

    assert [s.status for s in first.steps.values()] == [COMPLETED, COMPLETED]
    assert [s.status for s in second.steps.values()] == [CACHED, CACHED]
    assert EVENTS == ["expensive_data_loading"]
    assert second.steps["train_model"].output.load() == 2.0
    assert second.steps["train_model"].output.id == first.steps["train_model"].output.id


# -- "Cache Policy" ------------------------------------------------------------------------
def test_cache_policy_ignores_the_timestamp_field(repo: Path) -> None:
    @step
    def process_data(timestamp: datetime) -> str:
        EVENTS.append(timestamp)
        return "processed"

    @pipeline(
        cache_policy=CachePolicy(
            max_age_days=7,  # Invalidate cache after 7 days
            ignore_fields=["timestamp"],  # Ignore these fields for cache key
        )
    )
    def time_sensitive_pipeline():
        process_data(timestamp=datetime.now())

    first = time_sensitive_pipeline()
    second = time_sensitive_pipeline()

    assert first.steps["process_data"].status is COMPLETED
    assert isinstance(EVENTS[0], datetime)
    stamps = [r.steps["process_data"].parameters["timestamp"] for r in (first, second)]
    assert stamps[0] != stamps[1]
    assert second.steps["process_data"].status is CACHED
    assert len(EVENTS) == 1


# -- "Model Context": runs link to the model version in the named stage --------------------
@pipeline(
    model=Model(
        name="customer_churn",
        version="production",
        tags=["classification", "production"],
    )
)
def model_training_pipeline():
    """Pipeline runs are linked to the model version."""
    data = load_data()
    model = train(data)
    return model


def _promote_a_customer_churn_version() -> None:
    """``version="production"`` needs a version in that stage: make one and promote it."""

    @pipeline(model=Model(name="customer_churn"))
    def first_training():
        train(load_data())

    first_training()
    Client().update_model_version("customer_churn", 1, stage="production")


def test_pipeline_with_a_model_runs_and_returns_its_model(repo: Path) -> None:
    with pytest.raises(RunFailedError, match="no version in stage 'production'"):
        model_training_pipeline()
    _promote_a_customer_churn_version()

    run = model_training_pipeline()

    assert run.status is COMPLETED
    assert list(run.steps) == ["load_data", "train"]
    assert run.outputs["output"].load() == 4
    assert run.model_version.name == "1"
    assert run.outputs["output"].id in {v.id for v in run.model_version.artifact_versions}


@step
def read_model_from_context() -> str:
    model = get_step_context().model
    return f"{model.name}@{model.version}"


def test_steps_see_the_pipeline_model_in_their_context(repo: Path) -> None:
    @pipeline(model=Model(name="customer_churn", version="production"))
    def with_model():
        read_model_from_context()

    _promote_a_customer_churn_version()
    run = with_model()
    assert run.steps["read_model_from_context"].output.load() == "customer_churn@production"
