"""Pipeline snapshots from Python: create, inspect, validate, run from archived code."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from headrace import ExecutionStatus
from headrace.client import Client
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.exceptions import EntityExistsError, RunConfigurationError, SnapshotError

PROJECT = textwrap.dedent(
    '''
    from typing import Annotated

    import pandas as pd

    from headrace import pipeline, step
    from headrace.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from headrace.artifacts.utils import load_artifact
    from headrace.client import Client
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration

    VERSION = "original"


    @step
    def data_loader(data_path: str = "s3://old-data/") -> str:
        """Load the data.

        Args:
            data_path: Where the training data lives.
        """
        return data_path


    @step
    def model_trainer(data: str, learning_rate: float = 0.1, model_type: str = "lr") -> dict:
        """Train a model.

        Args:
            learning_rate: Step size of the optimiser.
            model_type: Which model to train.
        """
        return {"data": data, "lr": learning_rate, "model": model_type, "code": VERSION}


    @pipeline
    def training(seed: int = 1):
        model_trainer(data_loader())


    @step
    def trainer(data_artifact_id: str = "") -> int:
        df = load_artifact(data_artifact_id)
        return int(df["x"].sum())


    @pipeline
    def training_pipeline():
        trainer()


    @step
    def load_data() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})


    @step
    def trigger_pipeline(df: UnmaterializedArtifact) -> str:
        run_config = PipelineRunConfiguration(
            steps={"trainer": {"parameters": {"data_artifact_id": df.id}}}
        )
        run = Client().trigger_pipeline(
            pipeline_name_or_id="training_pipeline", run_configuration=run_config
        )
        return run.id


    @pipeline
    def loads_data_and_triggers_training():
        df = load_data()
        trigger_pipeline(df)


    @step
    def square(x: int = 0) -> int:
        return x * x


    @pipeline
    def square_pipeline():
        square()


    @step
    def fan_out_and_in(n: int) -> Annotated[int, "total"]:
        client = Client()
        runs = [
            client.trigger_pipeline(
                snapshot_name_or_id="squares",
                run_configuration={"steps": {"square": {"parameters": {"x": i}}}},
            )
            for i in range(n)
        ]
        finished = [run.wait(timeout=120) for run in runs]
        return sum(run.steps["square"].output.load() for run in finished)


    @pipeline
    def dynamic_fan(n: int = 8):
        fan_out_and_in(n)


    @pipeline(dynamic=True)
    def grows(count: int = 2):
        """A pipeline whose shape depends on its parameter.

        Args:
            count: How many squares to compute.
        """
        for i in range(count):
            square.with_options(name=f"square_{i}")(x=i)
    '''
)


def _write_project(repo: Path) -> None:
    (repo / "project.py").write_text(PROJECT)
    sys.path.insert(0, str(repo))
    sys.modules.pop("project", None)


@pytest.fixture
def project(repo: Path):  # type: ignore[no-untyped-def]
    _write_project(repo)
    import project as module

    yield module
    sys.path.remove(str(repo))
    sys.modules.pop("project", None)


def test_create_and_inspect(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    snapshot = project.training.create_snapshot(name="nightly", description="Nightly training")
    assert snapshot.name == "nightly" and snapshot.runnable
    assert snapshot.description == "Nightly training"
    assert len(snapshot.code_digest) == 64
    assert snapshot.environment["python_version"].startswith("3.")
    assert any(d.lower().startswith("pydantic==") for d in snapshot.environment["distributions"])
    assert "FROM python:" in snapshot.environment["dockerfile"]
    steps = snapshot.parameter_schema["properties"]["steps"]["properties"]
    lr = steps["model_trainer"]["properties"]["learning_rate"]
    assert lr["type"] == "number" and lr["default"] == 0.1
    assert lr["description"] == "Step size of the optimiser."
    assert "data" not in steps["model_trainer"]["properties"]  # fed by a step, not a parameter
    client = Client()
    assert client.get_snapshot("nightly").id == snapshot.id
    assert client.get_snapshot(snapshot.id[:8]).id == snapshot.id
    assert [s.name for s in client.list_snapshots(pipeline="training")] == ["nightly"]


def test_config_template_is_fresh_and_editable(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    snapshot = project.training.create_snapshot(name="t")
    config = snapshot.config_template
    assert config.steps["model_trainer"].parameters == {"learning_rate": 0.1, "model_type": "lr"}
    config.steps["model_trainer"].parameters["learning_rate"] = 5.0
    assert snapshot.config_template.steps["model_trainer"].parameters["learning_rate"] == 0.1


def test_names_never_silently_move(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    first = project.training.create_snapshot(name="prod")
    with pytest.raises(EntityExistsError, match=f"'prod' already exists \\(id {first.id}\\)"):
        project.training.create_snapshot(name="prod")
    second = project.training.create_snapshot(name="prod", replace=True)
    assert Client().get_snapshot("prod").id == second.id != first.id
    assert Client().get_snapshot(first.id).name is None  # still there for its runs


def test_same_code_is_stored_once(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    a = project.training.create_snapshot(name="a")
    b = project.training.create_snapshot(name="b")
    assert a.code_digest == b.code_digest
    code_dir = Path(Client().active_stack.artifact_store_path) / "code"
    assert len(list(code_dir.glob("*.tar.gz"))) == 1


def test_local_functions_cannot_be_snapshotted(repo: Path) -> None:
    from headrace import pipeline, step

    @step
    def local_step() -> int:
        return 1

    @pipeline
    def local_pipeline() -> None:
        local_step()

    with pytest.raises(SnapshotError, match="module level"):
        local_pipeline.create_snapshot(name="x")


def test_trigger_with_the_seed_flow_and_edited_template(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training.create_snapshot(name="nightly")
    client = Client()
    snapshot = client.get_snapshot("nightly")
    config = snapshot.config_template
    config.steps["model_trainer"].parameters["learning_rate"] = 0.01
    run = client.trigger_pipeline(snapshot_name_or_id=snapshot.id, run_configuration=config)
    assert run.snapshot_id == snapshot.id
    final = run.wait(timeout=60)
    assert final.status is ExecutionStatus.COMPLETED, final.status_reason
    assert final.steps["model_trainer"].output.load()["lr"] == 0.01
    assert final.stack_id == snapshot.stack_id


def test_trigger_with_a_plain_dict_and_by_pipeline_name(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training.create_snapshot(name="old")
    project.training.create_snapshot(name="new")
    run = Client().trigger_pipeline(
        pipeline_name_or_id="training",
        run_configuration={
            "steps": {
                "data_loader": {"parameters": {"data_path": "s3://new-data/"}},
                "model_trainer": {"parameters": {"learning_rate": 0.01}},
            }
        },
    )
    assert run.snapshot_id == Client().get_snapshot("new").id  # the latest runnable one
    output = run.wait(timeout=60).steps["model_trainer"].output.load()
    assert output["data"] == "s3://new-data/" and output["lr"] == 0.01


def test_the_run_uses_the_archived_code_not_the_working_tree(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training.create_snapshot(name="frozen")
    (repo / "project.py").write_text(PROJECT.replace('VERSION = "original"', 'VERSION = "edited"'))
    run = Client().trigger_pipeline(snapshot_name_or_id="frozen").wait(timeout=60)
    assert run.steps["model_trainer"].output.load()["code"] == "original"
    (repo / "project.py").unlink()
    run = Client().trigger_pipeline(snapshot_name_or_id="frozen").wait(timeout=60)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.steps["model_trainer"].output.load()["code"] == "original"


def test_bad_run_configuration_is_refused_with_every_problem(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training.create_snapshot(name="strict")
    before = Client().list_pipeline_runs().total
    with pytest.raises(RunConfigurationError) as info:
        Client().trigger_pipeline(
            snapshot_name_or_id="strict",
            run_configuration={
                "build": "another-image",  # fixed by the snapshot (new parameters are fine)
                "steps": {
                    "model_trainer": {
                        "parameters": {"learning_rate": "fast", "momentum": 0.9, "data": "x"},
                        "outputs": {"output": {"materializer_source": ["x.Y"]}},
                    },
                    "evaluator": {"parameters": {}},
                },
            },
        )
    problems = info.value.problems
    assert len(problems) == 6, problems
    text = str(info.value)
    for expected in (
        "'build' cannot be changed",
        "learning_rate: 'fast' is not valid",
        "momentum: unknown parameter",
        "data: this input receives the output of another step",
        "steps.model_trainer.outputs cannot be changed",
        "unknown step 'evaluator'",
    ):
        assert expected in text
    assert Client().list_pipeline_runs().total == before  # nothing was recorded


def test_trigger_from_a_step_by_pipeline_name(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training_pipeline.create_snapshot(name="training-latest")
    parent = project.loads_data_and_triggers_training()
    triggering_step = parent.steps["trigger_pipeline"]
    child_id = triggering_step.output.load()
    child = Client().get_pipeline_run(child_id).wait(timeout=60)
    assert child.status is ExecutionStatus.COMPLETED, child.status_reason
    assert child.triggered_by_step_run_id == triggering_step.id
    assert child.steps["trainer"].output.load() == 6

    from typer.testing import CliRunner

    from headrace.cli.main import app

    wide = {"COLUMNS": "1000"}
    shown = CliRunner().invoke(app, ["run", "show", parent.name], env=wide)
    assert shown.exit_code == 0, shown.output
    assert "triggered runs (1)" in shown.output and child.name in shown.output
    shown_child = CliRunner().invoke(app, ["run", "show", child.id], env=wide)
    assert f"triggered by: step trigger_pipeline of run {parent.name}" in shown_child.output
    assert "snapshot: training-latest" in shown_child.output


def test_dynamic_fan_out_and_in_over_eight_snapshot_runs(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.square_pipeline.create_snapshot(name="squares")
    run = project.dynamic_fan(n=8)
    assert run.steps["fan_out_and_in"].output.load() == sum(i * i for i in range(8))
    children = Client().list_pipeline_runs(pipeline_name="square_pipeline", size=100).items
    assert len(children) == 8
    assert {c.triggered_by_step_run_id for c in children} == {run.steps["fan_out_and_in"].id}
    assert {c.snapshot_id for c in children} == {Client().get_snapshot("squares").id}


def test_deleting_a_snapshot_keeps_its_runs(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training.create_snapshot(name="gone")
    run = Client().trigger_pipeline(snapshot_name_or_id="gone").wait(timeout=60)
    Client().delete_snapshot("gone")
    kept = Client().get_pipeline_run(run.id)
    assert kept.status is ExecutionStatus.COMPLETED and kept.snapshot_id is None
    assert kept.steps["model_trainer"].output.load()["lr"] == 0.1


def test_a_snapshot_from_a_newer_version_is_refused(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    snapshot = project.training.create_snapshot(name="future")
    import sqlite3

    db = sqlite3.connect(repo / ".headrace" / "headrace.db")
    import json

    extra = json.loads(
        db.execute("SELECT extra FROM snapshots WHERE id=?", (snapshot.id,)).fetchone()[0]
    )
    extra["spec_schema_version"] = 99
    db.execute("UPDATE snapshots SET extra=? WHERE id=?", (json.dumps(extra), snapshot.id))
    db.commit()
    with pytest.raises(SnapshotError, match="recreate the snapshot from its source"):
        Client().trigger_pipeline(snapshot_name_or_id="future")


def test_pipeline_run_configuration_object_and_unnamed_snapshots(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    project.training()  # a plain run stores an unnamed, non-runnable snapshot
    assert Client().list_snapshots().total == 0
    with pytest.raises(Exception, match="no runnable snapshot"):
        Client().trigger_pipeline(pipeline_name_or_id="training")
    project.training.create_snapshot(name="n")
    config = PipelineRunConfiguration(steps={"model_trainer": {"parameters": {"model_type": "rf"}}})
    run = Client().trigger_pipeline(snapshot_name_or_id="n", run_configuration=config)
    assert run.wait(timeout=60).steps["model_trainer"].output.load()["model"] == "rf"


def test_dynamic_pipelines_snapshot_and_take_new_parameters(repo: Path, project) -> None:  # type: ignore[no-untyped-def]
    snapshot = project.grows.create_snapshot(name="grows")
    schema = snapshot.parameter_schema["properties"]["parameters"]["properties"]
    assert schema["count"]["type"] == "integer" and schema["count"]["default"] == 2
    run = (
        Client()
        .trigger_pipeline(
            snapshot_name_or_id="grows", run_configuration={"parameters": {"count": 4}}
        )
        .wait(timeout=60)
    )
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert sorted(run.steps) == [f"square_{i}" for i in range(4)]
    with pytest.raises(RunConfigurationError, match="parameters.count: 'many' is not valid"):
        Client().trigger_pipeline(
            snapshot_name_or_id="grows", run_configuration={"parameters": {"count": "many"}}
        )
