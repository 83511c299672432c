"""Training and batch inference for one model, ``cancer_classifier``.

``training`` makes a new model version per run: it splits scikit-learn's bundled
breast-cancer data set, fits a scaled logistic regression, evaluates it on held-out rows,
logs the metrics on the version and promotes it to ``production`` when its F1 score beats
the version in production now. ``batch_inference`` scores a batch of new rows with
whatever version is in ``production``.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd

# Imported for its side effect too: it registers the materializer for estimators.
from materializers import SklearnEstimatorMaterializer
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from headrace import ArtifactConfig, Model, get_step_context, pipeline, step
from headrace.client import Client
from headrace.exceptions import EntityNotFoundError
from headrace.logger import get_logger

MODEL_NAME = "cancer_classifier"
TARGET = "target"
logger = get_logger(__name__)


# -- training -----------------------------------------------------------------------------
@step
def load_dataset() -> Annotated[pd.DataFrame, "dataset"]:
    """The breast-cancer data set that ships with scikit-learn: 30 features, a target."""
    return load_breast_cancer(as_frame=True).frame


@step
def split_dataset(
    dataset: pd.DataFrame, test_size: float = 0.25, random_state: int = 42
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    """Hold out ``test_size`` of the rows, with the same class balance in both parts."""
    train, test = train_test_split(
        dataset, test_size=test_size, random_state=random_state, stratify=dataset[TARGET]
    )
    return train, test


@step(output_materializers=SklearnEstimatorMaterializer)
def train_model(
    train: pd.DataFrame, regularization: float = 1.0
) -> Annotated[BaseEstimator, ArtifactConfig(name="classifier", is_model_artifact=True)]:
    """Standardized features into a logistic regression (``regularization`` is sklearn's C)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=regularization, max_iter=1000))
    return model.fit(train.drop(columns=TARGET), train[TARGET])


@step
def evaluate_model(
    classifier: BaseEstimator, test: pd.DataFrame
) -> Annotated[dict[str, float], "metrics"]:
    """Accuracy, precision, recall and F1 on the held-out rows, logged on the version."""
    truth = test[TARGET]
    predicted = classifier.predict(test.drop(columns=TARGET))  # type: ignore[attr-defined]
    metrics = {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "precision": round(float(precision_score(truth, predicted)), 4),
        "recall": round(float(recall_score(truth, predicted)), 4),
        "f1": round(float(f1_score(truth, predicted)), 4),
    }
    get_step_context().model.log_metadata(metrics)
    return metrics


@step(enable_cache=False)
def promote_if_better(metrics: dict[str, float]) -> Annotated[str, "decision"]:
    """Put this run's version in ``production`` if it beats the one there (or none is)."""
    model = get_step_context().model
    try:
        current = Client().get_model_version(MODEL_NAME, "production")
    except EntityNotFoundError:
        current = None
    current_f1 = float(current.run_metadata.get("f1", 0.0)) if current else None
    if current_f1 is not None and metrics["f1"] <= current_f1:
        decision = (
            f"kept version {current.number} in production (F1 {current_f1} >= {metrics['f1']})"
        )
    else:
        model.set_stage("production", force=True)
        decision = f"promoted version {model.number} to production (F1 {metrics['f1']})"
    logger.info(decision)
    return decision


@pipeline(
    model=Model(
        name=MODEL_NAME,
        description="Flags malignant tumours from 30 cell-nucleus measurements.",
        license="BSD-3-Clause (data set)",
        tags=["tabular", "binary-classification"],
    ),
    tags=["training"],
)
def training(test_size: float = 0.25, regularization: float = 1.0) -> None:
    """Fit, evaluate and maybe promote a new version of the model."""
    train, test = split_dataset(load_dataset(), test_size=test_size)
    classifier = train_model(train, regularization=regularization)
    promote_if_better(evaluate_model(classifier, test))


# -- batch inference ----------------------------------------------------------------------
@step(enable_cache=False)
def load_batch(batch_size: int = 50, seed: int = 0) -> Annotated[pd.DataFrame, "batch"]:
    """New rows to score: a random sample of the features, without their labels."""
    features = load_breast_cancer(as_frame=True).frame.drop(columns=TARGET)
    return features.sample(n=batch_size, random_state=seed)


@step
def predict(batch: pd.DataFrame) -> Annotated[pd.DataFrame, "predictions"]:
    """The production model's class and probability of malignancy for every row."""
    model = get_step_context().model
    classifier: Any = model.load_artifact("classifier")
    probability_benign = classifier.predict_proba(batch)[:, 1]
    logger.info(f"scored {len(batch)} rows with version {model.number} of {MODEL_NAME}")
    return pd.DataFrame(
        {
            "row": batch.index,
            "malignant": probability_benign < 0.5,
            "probability_malignant": (1 - probability_benign).round(4),
        }
    )


@pipeline(model=Model(name=MODEL_NAME, version="production"), tags=["inference"])
def batch_inference(batch_size: int = 50, seed: int = 0) -> Annotated[pd.DataFrame, "predictions"]:
    """Score a batch of new rows with the model version in production."""
    return predict(load_batch(batch_size=batch_size, seed=seed))
