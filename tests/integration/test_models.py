"""Models and model versions through real pipeline runs, the Client and the CLI.

Every test runs pipelines on the local orchestrator against a fresh repository (real
SQLite, real artifact files) and reads the model registry back the way a user does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from typer.testing import CliRunner

from headrace import Model, get_step_context, pipeline, step
from headrace.cli.main import app
from headrace.client import Client
from headrace.enums import ExecutionStatus, ModelStages
from headrace.exceptions import ConfigurationError, EntityNotFoundError, RunFailedError, StoreError
from headrace.models import ModelVersionResponse, PipelineRunResponse

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

# -- the seed's Model Context sample, as written (zenml -> headrace) -----------------------


@step
def load_data() -> list[int]:
    return [1, 2, 3, 4]


@step
def train(data: list[int]) -> Annotated[float, "churn_model"]:
    return sum(data) / len(data)


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


# -- pipelines that create versions ------------------------------------------------------


@pipeline(model=Model(name="customer_churn", description="Predicts churn."), enable_cache=False)
def churn_new_version() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn", version="v1"), enable_cache=False)
def churn_v1() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn", version="v1"))
def churn_v1_cached() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn"))
def churn_new_version_cached() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn", version="latest"), enable_cache=False)
def churn_latest() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn", version=1), enable_cache=False)
def churn_number_one() -> float:
    return train(load_data())


@pipeline(model=Model(name="customer_churn", version=7), enable_cache=False)
def churn_number_seven() -> float:
    return train(load_data())


def _artifact_ids(version: ModelVersionResponse) -> set[str]:
    return {v.id for v in version.artifact_versions}


def _output_ids(run: PipelineRunResponse) -> set[str]:
    return {v.id for step_run in run.steps.values() for vs in step_run.outputs.values() for v in vs}


# -- the seed sample ----------------------------------------------------------------------


def test_seed_sample_fails_clearly_until_a_version_is_in_production(repo: Path) -> None:
    with pytest.raises(RunFailedError, match="no version in stage 'production'") as caught:
        model_training_pipeline()
    failed = Client().list_pipeline_runs(pipeline_name="model_training_pipeline").items[0]
    assert failed.status is ExecutionStatus.FAILED
    assert "promote one first" in (failed.status_reason or "")
    assert failed.steps == {}  # nothing ran
    assert "headrace model version update customer_churn" in str(caught.value)
    with pytest.raises(EntityNotFoundError):  # the failed lookup created nothing
        Client().get_model("customer_churn")


def test_seed_sample_runs_on_the_promoted_version(repo: Path) -> None:
    churn_new_version()
    churn_new_version()
    client = Client()
    client.update_model_version("customer_churn", 1, stage="production")

    run = model_training_pipeline()

    version = client.get_model_version("customer_churn", "production")
    assert (version.name, version.number, version.stage) == ("1", 1, ModelStages.PRODUCTION)
    assert run.model_version_id == version.id
    assert run.model_version.name == "1"
    assert run.name in version.pipeline_runs
    assert _output_ids(run) <= _artifact_ids(version)
    assert set(version.tags) == {"classification", "production"}
    assert set(client.get_model("customer_churn").tags) == {"classification", "production"}
    # Version 2 gained nothing from the seed run.
    assert run.name not in client.get_model_version("customer_churn", 2).pipeline_runs


# -- linking across runs ------------------------------------------------------------------


def test_no_version_creates_a_new_number_per_run_and_links_each_runs_artifacts(
    repo: Path,
) -> None:
    first = churn_new_version()
    second = churn_new_version()
    client = Client()
    one = client.get_model_version("customer_churn", "1")
    two = client.get_model_version("customer_churn", 2)
    assert (one.number, two.number) == (1, 2)
    assert list(one.pipeline_runs) == [first.name]
    assert list(two.pipeline_runs) == [second.name]
    assert _artifact_ids(one) == _output_ids(first)
    assert _artifact_ids(two) == _output_ids(second)
    assert one.artifacts["churn_model"]["1"].load() == 2.5
    assert two.get_artifact("churn_model").version == "2"
    assert set(one.data_artifacts) == {"churn_model", "churn_new_version::load_data::output"}
    assert one.model_artifacts == {}
    model = client.get_model("customer_churn")
    assert model.description == "Predicts churn."
    assert model.latest_version_number == 2
    assert [v.name for v in model.versions] == ["1", "2"]
    assert model.latest_version.id == two.id
    assert one.model.id == model.id
    assert [mv.name for mv in first.steps["train"].output.model_versions] == ["1"]
    assert first.steps["train"].model_version.id == one.id


def test_a_named_version_is_created_once_and_reused(repo: Path) -> None:
    first = churn_v1()
    second = churn_v1()
    client = Client()
    v1 = client.get_model_version("customer_churn", "v1")
    assert v1.number == 1
    assert list(v1.pipeline_runs) == [first.name, second.name]
    assert _artifact_ids(v1) == _output_ids(first) | _output_ids(second)
    assert set(v1.artifacts["churn_model"]) == {"1", "2"}
    assert client.get_model("customer_churn").latest_version_number == 1
    assert client.list_model_versions("customer_churn").total == 1


def test_cached_step_outputs_are_linked_to_the_new_runs_version(repo: Path) -> None:
    first = churn_new_version_cached()
    second = churn_new_version_cached()
    assert {s.status for s in second.steps.values()} == {ExecutionStatus.CACHED}
    client = Client()
    one = client.get_model_version("customer_churn", 1)
    two = client.get_model_version("customer_churn", 2)
    assert _artifact_ids(two) == _output_ids(first) == _artifact_ids(one)
    assert list(two.pipeline_runs) == [second.name]
    # Reusing a named version with cached outputs links nothing twice.
    churn_v1_cached()
    churn_v1_cached()
    v1 = client.get_model_version("customer_churn", "v1")
    assert len(v1.pipeline_runs) == 2
    assert len(v1.artifact_versions) == 2


def test_latest_and_numbered_versions(repo: Path) -> None:
    with pytest.raises(RunFailedError, match="has no versions yet"):
        churn_latest()
    churn_new_version()
    churn_new_version()
    latest_run = churn_latest()
    number_run = churn_number_one()
    client = Client()
    assert latest_run.name in client.get_model_version("customer_churn", 2).pipeline_runs
    assert number_run.name in client.get_model_version("customer_churn", 1).pipeline_runs
    assert client.get_model("customer_churn").latest_version_number == 2  # nothing created
    with pytest.raises(RunFailedError, match="no version number 7"):
        churn_number_seven()


# -- step-level models and the step context ------------------------------------------------

SEEN: dict[str, object] = {}


@step(model=Model(name="fraud", version="candidate", tags=["tabular"]))
def train_fraud(data: list[int]) -> Annotated[int, "fraud_model"]:
    context = get_step_context()
    SEEN["fraud"] = (context.model.name, context.model_version.name)
    return max(data)


@step
def report(data: list[int]) -> str:
    context = get_step_context()
    version = context.model_version
    SEEN["report"] = (context.model.name, version.name, version.number, version.model_name)
    return "ok"


@step
def plain(data: list[int]) -> int:
    SEEN["plain"] = (get_step_context().model, get_step_context().model_version)
    return len(data)


@pipeline(model=Model(name="customer_churn"), enable_cache=False)
def two_models() -> None:
    data = load_data()
    train_fraud(data)
    report(data)


@pipeline(enable_cache=False)
def no_model() -> None:
    plain(load_data())


def test_step_level_model_links_only_that_steps_artifacts(repo: Path) -> None:
    run = two_models()
    client = Client()
    churn = client.get_model_version("customer_churn", 1)
    fraud = client.get_model_version("fraud", "candidate")
    assert SEEN["fraud"] == ("fraud", "candidate")
    assert SEEN["report"] == ("customer_churn", "1", 1, "customer_churn")
    fraud_output = run.steps["train_fraud"].output
    assert _artifact_ids(fraud) == {fraud_output.id}
    assert fraud.data_artifacts == {"fraud_model": {"1": fraud_output}}
    assert fraud_output.id not in _artifact_ids(churn)
    assert run.steps["report"].output.id in _artifact_ids(churn)
    # The run is linked to both versions; its own model is the pipeline's.
    assert run.name in churn.pipeline_runs and run.name in fraud.pipeline_runs
    assert run.model_version_id == churn.id
    assert run.steps["train_fraud"].model_version_id == fraud.id
    assert fraud.tags == ["tabular"]
    assert [m.name for m in client.list_models(tag="tabular")] == ["fraud"]
    assert {m.name for m in client.list_models()} == {"customer_churn", "fraud"}


def test_steps_without_a_model_see_none(repo: Path) -> None:
    run = no_model()
    assert SEEN["plain"] == (None, None)
    assert run.model_version_id is None and run.model_version is None
    assert Client().list_models().total == 0


# -- stages ---------------------------------------------------------------------------------


def test_promotion_refuses_a_taken_stage_without_force_and_archives_with_it(repo: Path) -> None:
    for _ in range(3):
        churn_new_version()
    client = Client()
    promoted = client.update_model_version("customer_churn", "1", stage="production")
    assert promoted.stage is ModelStages.PRODUCTION
    with pytest.raises(StoreError, match="version '1' is in stage 'production' already"):
        client.update_model_version("customer_churn", 2, stage="production")
    assert client.get_model_version("customer_churn", "production").name == "1"

    moved = client.update_model_version(
        "customer_churn", 2, stage=ModelStages.PRODUCTION, force=True
    )
    assert moved.stage is ModelStages.PRODUCTION
    assert client.get_model_version("customer_churn", 1).stage is ModelStages.ARCHIVED
    assert client.get_model_version("customer_churn", "production").name == "2"

    client.update_model_version("customer_churn", 3, stage="Staging")
    staged = client.list_model_versions("customer_churn", stage="staging")
    assert [v.name for v in staged] == ["3"]
    archived = client.list_model_versions("customer_churn", stage=ModelStages.ARCHIVED)
    assert [v.name for v in archived] == ["1"]
    # Re-promoting the holder itself is no conflict; clearing a stage is allowed.
    client.update_model_version("customer_churn", 2, stage="production")
    cleared = client.update_model_version("customer_churn", 3, stage="none")
    assert cleared.stage is None


def test_bad_stage_changes_are_refused(repo: Path) -> None:
    churn_new_version()
    client = Client()
    with pytest.raises(StoreError, match="'latest' is not a stage"):
        client.update_model_version("customer_churn", 1, stage="latest")
    with pytest.raises(ConfigurationError, match="Unknown model stage 'prod'"):
        client.update_model_version("customer_churn", 1, stage="prod")
    with pytest.raises(EntityNotFoundError, match="no version 'v9'"):
        client.update_model_version("customer_churn", "v9", stage="staging")
    with pytest.raises(EntityNotFoundError, match="No model has the name or id 'nope'"):
        client.list_model_versions("nope")


def test_rename_and_describe_a_version(repo: Path) -> None:
    churn_new_version()
    churn_new_version()
    client = Client()
    renamed = client.update_model_version(
        "customer_churn", 2, name="gold", description="best so far", add_tags=["keep"]
    )
    assert (renamed.name, renamed.number, renamed.description) == ("gold", 2, "best so far")
    assert client.get_model_version("customer_churn", "gold").tags == ["keep"]
    assert client.get_model_version(renamed.id).name == "gold"  # by id alone
    with pytest.raises(StoreError, match="already has a version named 'gold'"):
        client.update_model_version("customer_churn", 1, name="gold")
    with pytest.raises(StoreError, match="is a number or a stage"):
        client.update_model_version("customer_churn", 1, name="production")
    untagged = client.update_model_version("customer_churn", "gold", remove_tags=["keep"])
    assert untagged.tags == []


# -- CLI --------------------------------------------------------------------------------


def test_cli_lists_models_and_versions_and_promotes(repo: Path) -> None:
    churn_new_version()
    churn_new_version()

    listed = RUNNER.invoke(app, ["model", "list"])
    assert listed.exit_code == 0, listed.output
    assert "customer_churn" in listed.stdout

    versions = RUNNER.invoke(app, ["model", "version", "list", "customer_churn"])
    assert versions.exit_code == 0, versions.output
    lines = [line.split() for line in versions.stdout.splitlines()[2:] if line.strip()]
    assert [line[0] for line in lines] == ["2", "1"]

    promote = ["model", "version", "update", "customer_churn", "1", "--stage", "production"]
    first = RUNNER.invoke(app, promote)
    assert first.exit_code == 0, first.output
    assert "version '1' (number 1) is in stage production" in first.stdout

    refused = RUNNER.invoke(app, [*promote[:4], "2", *promote[5:]])
    assert refused.exit_code == 1
    assert "Error: Model 'customer_churn': version '1' is in stage 'production'" in (refused.stderr)
    assert "--force" in refused.stderr

    forced = RUNNER.invoke(app, [*promote[:4], "2", *promote[5:], "--force"])
    assert forced.exit_code == 0, forced.output
    staged = RUNNER.invoke(
        app, ["model", "version", "list", "customer_churn", "--stage", "archived"]
    )
    assert staged.exit_code == 0, staged.output
    assert "archived" in staged.stdout and " 1 " in staged.stdout
    production = Client().get_model_version("customer_churn", "production")
    assert production.name == "2"

    nothing = RUNNER.invoke(app, ["model", "version", "update", "customer_churn", "1"])
    assert nothing.exit_code == 2
    missing = RUNNER.invoke(app, ["model", "version", "list", "nope"])
    assert missing.exit_code == 1
    assert "No model has the name or id 'nope'" in missing.stderr
