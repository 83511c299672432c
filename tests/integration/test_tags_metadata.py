"""Tags and run metadata through real pipeline runs, the Client and the CLI.

Every test runs pipelines on the local orchestrator against a fresh repository (real
SQLite, real artifact files) and reads tags and metadata back the way a user does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from typer.testing import CliRunner

import headrace
from headrace import Model, add_tags, get_step_context, log_metadata, pipeline, remove_tags, step
from headrace.artifacts.utils import save_artifact
from headrace.cli.main import app
from headrace.client import Client
from headrace.exceptions import (
    ConfigurationError,
    EntityNotFoundError,
    HeadraceError,
    RunFailedError,
    StoreError,
)
from headrace.metadata.metadata_types import DType, StorageSize, Uri
from headrace.metadata.metadata_types import Path as MetadataPath

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

TYPED: dict[str, Any] = {
    "uri": Uri("s3://bucket/data.parquet"),
    "path": MetadataPath("/data/train.csv"),
    "dtype": DType("float32"),
    "size": StorageSize(2048),
    "shape": (128, 4),
    "labels": {"churn"},
    "scores": {"accuracy": 0.93, "recall": [0.8, 0.9]},
    "note": "plain",
    "count": 3,
    "ratio": 0.5,
    "ok": True,
    "missing": None,
}


def _assert_typed(values: dict[str, Any]) -> None:
    for key, expected in TYPED.items():
        assert values[key] == expected, key
        assert type(values[key]) is type(expected), key


# -- steps and pipelines ---------------------------------------------------------------


@step
def make_numbers() -> list[int]:
    log_metadata(TYPED)  # no target: this step run
    add_tags(["from-step"])  # no target: this run
    # The artifact name of this step's (unnamed) output means that output too.
    log_metadata({"kind": "ints"}, artifact_name="tagged_pipeline::make_numbers::output")
    return [1, 2, 3]


@step
def summarize(numbers: list[int]) -> Annotated[int, "total"]:
    log_metadata({"rows": len(numbers)}, infer_artifact=True)
    add_tags("summed", infer_artifact=True)
    return sum(numbers)


@step
def two_outputs(numbers: list[int]) -> tuple[Annotated[int, "smallest"], Annotated[int, "largest"]]:
    log_metadata({"which": "min"}, artifact_name="smallest")  # an output of this step
    log_metadata({"which": "max"}, artifact_name="largest", infer_artifact=True)
    add_tags(["extreme"], artifact_name="largest")
    return min(numbers), max(numbers)


@pipeline(tags=["nightly", "v1.0"], enable_cache=False)
def tagged_pipeline() -> None:
    numbers = make_numbers()
    summarize(numbers)
    two_outputs(numbers)


@step
def plain_numbers() -> list[int]:
    return [4, 5]


@pipeline(enable_cache=False)
def untagged_pipeline() -> None:
    summarize(plain_numbers())


# -- tags --------------------------------------------------------------------------------


def test_pipeline_and_option_tags_go_to_the_run_and_filter(repo: Path) -> None:
    tagged = tagged_pipeline()
    with_more = tagged_pipeline.with_options(tags=["manual", "nightly"])()
    untagged_pipeline()
    client = Client()
    assert tagged.refresh().tags == ["nightly", "v1.0", "from-step"]
    assert with_more.refresh().tags == ["nightly", "v1.0", "manual", "from-step"]
    nightly = client.list_pipeline_runs(tag="nightly", sort_by="asc:created")
    assert [r.id for r in nightly] == [tagged.id, with_more.id]
    assert [r.id for r in client.list_pipeline_runs(tag="manual")] == [with_more.id]
    assert client.list_pipeline_runs(tag="nope").total == 0
    assert client.list_pipeline_runs(tag="from-step").total == 2


def test_outputs_tagged_in_steps_can_be_filtered(repo: Path) -> None:
    run = tagged_pipeline()
    client = Client()
    total = run.steps["summarize"].output
    assert total.tags == ["summed"]
    assert run.steps["two_outputs"].outputs["largest"][0].tags == ["extreme"]
    assert [v.id for v in client.list_artifact_versions(tag="summed")] == [total.id]
    assert [v.name for v in client.list_artifact_versions(tag="extreme")] == ["largest"]


def test_add_and_remove_tags_outside_steps(repo: Path) -> None:
    run = untagged_pipeline()
    other = untagged_pipeline()
    client = Client()
    add_tags(["reviewed", "gold"], run=run.name)
    add_tags("gold", run=other)  # a response works as a target too
    add_tags(["reviewed"], run=run.id[:8])  # again: kept once
    assert client.get_pipeline_run(run.id).tags == ["reviewed", "gold"]
    assert {r.id for r in client.list_pipeline_runs(tag="gold")} == {run.id, other.id}
    remove_tags(["gold", "never-there"], run=run.name)
    assert client.get_pipeline_run(run.id).tags == ["reviewed"]
    assert [r.id for r in client.list_pipeline_runs(tag="gold")] == [other.id]

    add_tags(["team-a"], pipeline="untagged_pipeline")
    assert client.get_pipeline("untagged_pipeline").tags == ["team-a"]
    assert [p.name for p in client.list_pipelines(tag="team-a")] == ["untagged_pipeline"]
    tagged_pipeline()
    assert client.list_pipelines().total == 2
    remove_tags("team-a", pipeline="untagged_pipeline")
    assert client.list_pipelines(tag="team-a").total == 0

    # Tags on an artifact apply to all of its versions when filtering.
    add_tags(["audited"], artifact="total")
    assert client.get_artifact("total").tags == ["audited"]
    audited = client.list_artifact_versions(tag="audited")
    assert {v.version for v in audited} == {"1", "2", "3"}
    first = client.get_artifact_version("total", 1)
    add_tags(["first"], artifact_name="total", artifact_version=1)
    add_tags(["by-id"], artifact_version_id=first.id)
    assert client.get_artifact_version(first.id).tags == ["summed", "first", "by-id"]
    remove_tags(["summed"], artifact=first)
    assert client.get_artifact_version(first.id).tags == ["first", "by-id"]
    assert first.id not in {v.id for v in client.list_artifact_versions(tag="summed")}

    saved = save_artifact(7, "hand_made", tags=["manual"])
    assert [v.id for v in client.list_artifact_versions(tag="manual")] == [saved.id]
    names = {tag.name: tag.count for tag in client.list_tags()}
    assert names["manual"] == 1 and names["audited"] == 1


def test_model_tags_through_add_tags(repo: Path) -> None:
    @pipeline(model=Model(name="ranker"), enable_cache=False)
    def with_model() -> None:
        plain_numbers()

    with_model()
    add_tags(["champion"], model="ranker")
    add_tags(["reviewed"], model_name="ranker", model_version="latest")
    client = Client()
    assert client.get_model("ranker").tags == ["champion"]
    assert client.get_model_version("ranker", 1).tags == ["reviewed"]
    remove_tags(["reviewed"], model_name="ranker")
    assert client.get_model_version("ranker", 1).tags == []


def test_bad_tag_calls_are_refused(repo: Path) -> None:
    run = untagged_pipeline()
    with pytest.raises(ConfigurationError, match="Outside a step, name what to tag"):
        add_tags(["x"])
    with pytest.raises(
        ConfigurationError, match="one entity at a time; got targets for: pipeline, run"
    ):
        add_tags(["x"], run=run.id, pipeline="untagged_pipeline")
    with pytest.raises(StoreError, match="non-empty strings"):
        add_tags([""], run=run.id)
    with pytest.raises(EntityNotFoundError, match="No pipeline run has the name or id 'nope'"):
        add_tags(["x"], run="nope")
    with pytest.raises(HeadraceError, match="only inside a running step"):
        add_tags(["x"], infer_artifact=True)
    with pytest.raises(ConfigurationError, match="artifact_version needs artifact_name"):
        add_tags(["x"], artifact_version=1)


def test_cli_filters_runs_and_artifacts_by_tag(repo: Path) -> None:
    tagged = tagged_pipeline()
    untagged_pipeline()
    runs = RUNNER.invoke(app, ["pipeline", "runs", "list", "--tag", "nightly"])
    assert runs.exit_code == 0, runs.output
    assert tagged.name in runs.stdout
    assert "untagged_pipeline" not in runs.stdout
    none = RUNNER.invoke(app, ["pipeline", "runs", "list", "--tag", "nope"])
    assert none.exit_code == 0 and "No pipeline runs found" in none.stderr

    artifacts = RUNNER.invoke(app, ["artifact", "list", "--tag", "summed"])
    assert artifacts.exit_code == 0, artifacts.output
    rows = [line.split() for line in artifacts.stdout.splitlines()[2:] if line.strip()]
    assert [row[0] for row in rows] == ["total", "total"]  # both runs' totals were tagged
    extreme = RUNNER.invoke(app, ["artifact", "list", "--tag", "extreme"])
    assert "largest" in extreme.stdout and "total" not in extreme.stdout


# -- metadata ------------------------------------------------------------------------------


def test_step_metadata_round_trips_typed(repo: Path) -> None:
    run = tagged_pipeline()
    step_run = run.steps["make_numbers"]
    _assert_typed(step_run.run_metadata)
    assert step_run.output.run_metadata["kind"] == "ints"
    again = Client().get_run_step(step_run.id).run_metadata
    _assert_typed(again)


def test_output_metadata_lands_with_the_outputs(repo: Path) -> None:
    run = tagged_pipeline()
    total = run.steps["summarize"].output
    assert total.run_metadata["rows"] == 3
    assert total.metadata["rows"] == 3  # the same mapping
    assert total.metadata["storage_size"] > 0  # the materializer's metadata stays
    outputs = run.steps["two_outputs"].outputs
    assert outputs["smallest"][0].run_metadata["which"] == "min"
    assert outputs["largest"][0].run_metadata["which"] == "max"


@step
def log_everything(numbers: list[int]) -> int:
    context = get_step_context()
    log_metadata(
        {"run_level": Uri("https://example.com")}, run_id_name_or_prefix=context.pipeline_run.id
    )
    log_metadata({"model_level": StorageSize(10)}, infer_model=True)
    log_metadata({"named": 1}, model_name="scorer", model_version="latest")
    log_metadata({"by_step_id": True}, step_id=context.step_run_id)
    log_metadata({"sibling": "yes"}, step_name="plain_numbers")
    return len(numbers)


@pipeline(model=Model(name="scorer"), enable_cache=False)
def metadata_pipeline() -> None:
    log_everything(plain_numbers())


def test_metadata_on_runs_models_and_named_steps(repo: Path) -> None:
    run = metadata_pipeline()
    client = Client()
    fresh = client.get_pipeline_run(run.id)
    assert fresh.run_metadata == {"run_level": "https://example.com"}
    assert type(fresh.run_metadata["run_level"]) is Uri
    version = client.get_model_version("scorer", 1)
    assert version.run_metadata == {"model_level": 10, "named": 1}
    assert type(version.run_metadata["model_level"]) is StorageSize
    assert fresh.steps["log_everything"].run_metadata == {"by_step_id": True}
    assert fresh.steps["plain_numbers"].run_metadata == {"sibling": "yes"}


def test_metadata_outside_steps(repo: Path) -> None:
    run = tagged_pipeline()
    client = Client()
    log_metadata({"reviewed": True}, run_id_name_or_prefix=run.name)
    log_metadata({"k": DType("int8")}, step_name="summarize", run_id_name_or_prefix=run.id)
    log_metadata({"later": 1}, artifact_name="total")  # the latest version
    total = run.steps["summarize"].output
    log_metadata({"by_id": (1, 2)}, artifact_version_id=total.id)
    log_metadata({"rows": 30}, artifact_name="total", artifact_version="1")  # replaces

    fresh = client.get_pipeline_run(run.id)
    assert fresh.run_metadata == {"reviewed": True}
    assert fresh.steps["summarize"].run_metadata == {"k": "int8"}
    assert type(fresh.steps["summarize"].run_metadata["k"]) is DType
    version = client.get_artifact_version(total.id)
    assert version.run_metadata["rows"] == 30
    assert version.run_metadata["later"] == 1
    assert version.run_metadata["by_id"] == (1, 2)
    assert version.metadata["storage_size"] > 0

    @pipeline(model=Model(name="m", version="v1"), enable_cache=False)
    def with_model() -> None:
        plain_numbers()

    with_model()
    log_metadata({"auc": 0.7}, model_name="m", model_version="v1")
    model_version = client.get_model_version("m", "v1")
    log_metadata({"auc": 0.8, "f1": 0.6}, model_version_id=model_version.id)
    assert client.get_model_version("m", "v1").run_metadata == {"auc": 0.8, "f1": 0.6}


def test_bad_metadata_calls_are_refused(repo: Path) -> None:
    run = untagged_pipeline()
    with pytest.raises(ConfigurationError, match="needs a target"):
        log_metadata({"a": 1})
    with pytest.raises(ConfigurationError, match=r"metadata\['bad'\].*cannot be stored as JSON"):
        log_metadata({"bad": object()}, run_id_name_or_prefix=run.id)
    with pytest.raises(ConfigurationError, match="keys must be non-empty strings"):
        log_metadata({"": 1}, run_id_name_or_prefix=run.id)
    with pytest.raises(
        ConfigurationError, match="one entity at a time; got targets for: run, model"
    ):
        log_metadata({"a": 1}, run_id_name_or_prefix=run.id, model_name="m")
    with pytest.raises(HeadraceError, match="only inside a running step"):
        log_metadata({"a": 1}, infer_model=True)
    with pytest.raises(ConfigurationError, match="has no step 'nope'"):
        log_metadata({"a": 1}, step_name="nope", run_id_name_or_prefix=run.id)
    with pytest.raises(EntityNotFoundError, match="No model has the name or id 'm'"):
        log_metadata({"a": 1}, model_name="m")


@step
def infer_without_model() -> int:
    log_metadata({"a": 1}, infer_model=True)
    return 1


@pipeline(enable_cache=False)
def no_model_pipeline() -> None:
    infer_without_model()


def test_infer_model_without_a_model_fails_the_step_clearly(repo: Path) -> None:
    with pytest.raises(RunFailedError, match="infer_model=True: step 'infer_without_model'"):
        no_model_pipeline()


@step
def log_then_fail() -> int:
    log_metadata({"progress": 0.5})
    raise ValueError("boom")


@pipeline(enable_cache=False)
def failing_pipeline() -> None:
    log_then_fail()


def test_metadata_of_a_failed_step_is_kept(repo: Path) -> None:
    with pytest.raises(RunFailedError):
        failing_pipeline()
    run = Client().list_pipeline_runs(pipeline_name="failing_pipeline").items[0]
    assert run.steps["log_then_fail"].run_metadata == {"progress": 0.5}


def _after_success() -> None:
    # The step's outputs and status are stored already: these go to the store directly.
    log_metadata({"hook": True})
    log_metadata({"checked": True}, infer_artifact=True)
    add_tags(["hooked"], infer_artifact=True)


@step(on_success=_after_success)
def hooked() -> int:
    return 1


@pipeline(enable_cache=False)
def hooked_pipeline() -> None:
    hooked()


def test_metadata_and_tags_from_a_success_hook(repo: Path) -> None:
    run = hooked_pipeline()
    step_run = Client().get_run_step(run.steps["hooked"].id)
    assert step_run.run_metadata == {"hook": True}
    assert step_run.output.run_metadata["checked"] is True
    assert step_run.output.tags == ["hooked"]


def test_public_api_exports() -> None:
    assert headrace.log_metadata is log_metadata
    assert headrace.add_tags is add_tags and headrace.remove_tags is remove_tags
