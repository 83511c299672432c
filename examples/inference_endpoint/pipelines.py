"""An iris classifier: a training pipeline that makes it, and a one-flower pipeline a
deployment serves over HTTP.

The training data is scikit-learn's bundled iris data set, so nothing is downloaded.
The served pipeline loads the newest ``iris_classifier`` once, in its ``on_init`` hook,
so a request costs one prediction, not a model load.
"""

from __future__ import annotations

from typing import Annotated, Any

from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeClassifier

from headrace import get_step_context, log_metadata, pipeline, step
from headrace.client import Client

SPECIES = [str(name) for name in load_iris().target_names]


@step
def train_classifier(max_depth: int = 3) -> Annotated[Any, "iris_classifier"]:
    """Fit a shallow decision tree on all 150 flowers; log its cross-validated accuracy."""
    if max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, got {max_depth}")
    data = load_iris()
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=0)
    accuracy = float(cross_val_score(tree, data.data, data.target, cv=5).mean())
    log_metadata(metadata={"cv_accuracy": round(accuracy, 4), "max_depth": max_depth})
    return tree.fit(data.data, data.target)


@pipeline(enable_cache=False)
def training(max_depth: int = 3) -> None:
    """Train the classifier; each run makes a new version of the ``iris_classifier`` artifact."""
    train_classifier(max_depth=max_depth)


def load_classifier() -> dict[str, Any]:
    """The deployment's ``on_init`` hook: load the newest classifier once per service."""
    version = Client().get_artifact_version("iris_classifier")
    return {"classifier": version.load(), "version": str(version.version)}


@step
def measurements(
    sepal_length: float, sepal_width: float, petal_length: float, petal_width: float
) -> list[float]:
    """The four measurements (cm) in the order the classifier was trained on."""
    values = [sepal_length, sepal_width, petal_length, petal_width]
    if any(value <= 0 for value in values):
        raise ValueError(f"measurements must be positive centimetres, got {values}")
    return values


@step
def classify(features: list[float]) -> dict[str, Any]:
    """The species the served classifier predicts, with its probability."""
    state = get_step_context().pipeline_state
    probabilities = state["classifier"].predict_proba([features])[0]
    best = int(probabilities.argmax())
    return {
        "species": SPECIES[best],
        "probability": round(float(probabilities[best]), 4),
        "classifier_version": state["version"],
    }


@pipeline(enable_cache=False, on_init=load_classifier)
def classify_flower(
    sepal_length: float = 5.1,
    sepal_width: float = 3.5,
    petal_length: float = 1.4,
    petal_width: float = 0.2,
) -> Annotated[dict[str, Any], "prediction"]:
    """Classify one flower from its measurements."""
    return classify(measurements(sepal_length, sepal_width, petal_length, petal_width))
