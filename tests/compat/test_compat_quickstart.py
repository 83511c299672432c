"""A quickstart-style project: a new model version per training run, metadata and stage
set through the step's model handle, scoring fed by the production version's artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_projects import copy_project, run_project

from headrace.client import Client
from headrace.enums import ArtifactType, ExecutionStatus, ModelStages

pytestmark = pytest.mark.slow


def test_training_versions_promotion_and_scoring(repo: Path) -> None:
    project = copy_project("quickstart", repo)
    outputs = [run_project(project, "train", "--lr", lr).stderr for lr in ("0.1", "0.5", "0.05")]
    assert "model price_model version 1: loss" in outputs[0]
    assert "runs of training so far: 3" in outputs[2]
    client = Client()
    versions = client.list_model_versions("price_model", sort_by="asc:number").items
    assert [v.number for v in versions] == [1, 2, 3]
    losses = [v.run_metadata["loss"] for v in versions]
    assert [v.run_metadata["lr"] for v in versions] == [0.1, 0.5, 0.05]
    best = versions[losses.index(min(losses))]
    production = client.get_model_version("price_model", ModelStages.PRODUCTION)
    assert production.id == best.id
    line = production.get_artifact("line")
    assert line.type is ArtifactType.MODEL
    note = client.get_pipeline("training").runs[0].steps["promote"].output.load()
    assert note.startswith("# Kept")

    scored = run_project(project, "score")
    assert f"scored with version {best.number}" in scored.stderr
    run = client.get_pipeline("scoring").last_run
    assert run.status is ExecutionStatus.COMPLETED
    step = run.steps["score"]
    assert [v.id for v in step.inputs["line"]] == [line.id]
    assert [v.id for v in step.inputs["offsets"]] == [client.get_artifact_version("offsets").id]
    coefficients = line.load()
    expected = [
        coefficients["a"] * x + coefficients["b"] + o for x, o in ((0, 0), (1, 0.5), (2, 1))
    ]
    assert step.output.load() == pytest.approx(expected)
