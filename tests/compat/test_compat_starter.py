"""The MLOps starter layout (feature engineering, training, inference around one model),
run as its user runs it after switching: ``python run.py --feature-pipeline`` and so on."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_projects import copy_project, run_project

from headrace.client import Client
from headrace.enums import ArtifactType, ExecutionStatus, ModelStages

pytestmark = pytest.mark.slow


@pytest.fixture
def starter(repo: Path) -> Path:
    return copy_project("starter", repo)


def test_starter_runs_its_three_pipelines_and_tracks_the_model(starter: Path) -> None:
    features = run_project(starter, "--feature-pipeline")
    # get_logger lines and a step's logging.info show on the terminal...
    assert "Dataset with 541 records loaded!" in features.stderr
    assert "rows kept for inference: 28" in features.stderr
    client = Client()
    run = client.get_pipeline("feature_engineering").last_run
    assert run.status is ExecutionStatus.COMPLETED
    # ...and are kept in the step's logs like its prints.
    logs = client.get_run_logs(run.id, "data_loader")["data_loader"]
    assert "Dataset with 541 records loaded!" in logs and "rows kept for inference" in logs
    dataset_trn_v1 = client.get_artifact_version("dataset_trn", 1)
    assert client.get_artifact_version("dataset", 1).run_metadata["random_state"] == 17
    preprocess = client.get_artifact_version("preprocess_pipeline", 1)
    assert preprocess.run_metadata["target"] == "target"

    run_project(starter, "--training-pipeline")
    model = client.get_model("breast_cancer_classifier")
    versions = {v.name: v for v in model.versions}
    assert set(versions) == {"sgd", "rf"}
    classifier = versions["rf"].get_artifact("sklearn_classifier")
    assert classifier.type is ArtifactType.MODEL and "trained" in classifier.tags
    assert classifier.run_metadata["test_accuracy"] > 0.8
    assert versions["rf"].run_metadata["test_accuracy"] == classifier.run_metadata["test_accuracy"]
    production = client.get_model_version("breast_cancer_classifier", ModelStages.PRODUCTION)
    assert production.name in {"sgd", "rf"}

    # Training again on the feature pipeline's own data sets, passed by version.
    run_project(
        starter,
        "--training-pipeline",
        "--train-dataset-version-name",
        "1",
        "--test-dataset-version-name",
        "1",
    )
    training_run = client.get_pipeline("training").last_run
    trainer = training_run.steps["model_trainer"]
    assert [v.id for v in trainer.inputs["dataset_trn"]] == [dataset_trn_v1.id]
    assert "feature_engineering.data_loader" not in training_run.steps

    run_project(starter, "--inference-pipeline")
    inference = client.get_pipeline("inference").last_run
    assert inference.status is ExecutionStatus.COMPLETED
    production = client.get_model_version("breast_cancer_classifier", ModelStages.PRODUCTION)
    linked = inference.steps["inference_preprocessor"].inputs["preprocess_pipeline"]
    # The artifact the pipeline function took from the model is the step's input artifact.
    assert [v.id for v in linked] == [production.get_artifact("preprocess_pipeline").id]
    predictions = inference.steps["inference_predict"].outputs["predictions"].load()
    assert len(predictions) == 28 and set(predictions.unique()) <= {0, 1}
    assert inference.id in {r.id for r in production.pipeline_runs.values()}
