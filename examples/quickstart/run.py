"""headrace quick start: train two classifiers side by side and keep the better one.

The pipeline loads the breast-cancer data set that scikit-learn ships (no download),
splits it, trains a logistic regression and a random forest on two parallel branches,
evaluates both on the held-out rows and picks the model with the higher F1 score.

Run it from this directory after ``headrace init``::

    python run.py                      # defaults: 25 % test rows, random_state 42
    python run.py --test-size 0.3 --random-state 7
    python run.py --no-cache           # run every step again, even if nothing changed
"""

from __future__ import annotations

import argparse
import logging
from typing import Annotated, Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from headrace import pipeline, step
from headrace.client import Client

TARGET = "target"


# -- steps ---------------------------------------------------------------------------------
@step
def load_data() -> Annotated[pd.DataFrame, "dataset"]:
    """The breast-cancer data set as one DataFrame: 30 features and a ``target`` column."""
    return load_breast_cancer(as_frame=True).frame


@step
def split_data(
    dataset: pd.DataFrame, test_size: float, random_state: int
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    """Hold out ``test_size`` of the rows, keeping the class balance in both parts."""
    train, test = train_test_split(
        dataset, test_size=test_size, random_state=random_state, stratify=dataset[TARGET]
    )
    return train, test


@step
def train_logistic_regression(
    train: pd.DataFrame, random_state: int
) -> Annotated[BaseEstimator, "model"]:
    """Scaled features into a logistic regression."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.set_params(logisticregression__random_state=random_state)
    return model.fit(train.drop(columns=TARGET), train[TARGET])


@step
def train_random_forest(
    train: pd.DataFrame, random_state: int, n_estimators: int = 100
) -> Annotated[BaseEstimator, "model"]:
    """A small random forest (single-threaded: the two branches already run in parallel)."""
    model = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=6, random_state=random_state, n_jobs=1
    )
    return model.fit(train.drop(columns=TARGET), train[TARGET])


@step
def evaluate(model: BaseEstimator, test: pd.DataFrame) -> Annotated[dict[str, float], "metrics"]:
    """Accuracy, precision, recall and F1 on the held-out rows."""
    truth = test[TARGET]
    predicted = model.predict(test.drop(columns=TARGET))  # type: ignore[attr-defined]
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted)),
        "recall": float(recall_score(truth, predicted)),
        "f1": float(f1_score(truth, predicted)),
    }


@step
def select_best(
    candidates: dict[str, dict[str, float]],
) -> tuple[Annotated[str, "best_model"], Annotated[dict[str, float], "best_metrics"]]:
    """The candidate with the highest F1 score (accuracy breaks ties)."""
    name = max(candidates, key=lambda n: (candidates[n]["f1"], candidates[n]["accuracy"]))
    return name, candidates[name]


# -- the pipeline --------------------------------------------------------------------------
@pipeline
def quickstart_pipeline(
    test_size: float = 0.25, random_state: int = 42
) -> tuple[Annotated[str, "best_model"], Annotated[dict[str, float], "best_metrics"]]:
    """Load, split, train two models in parallel, evaluate both, keep the better one."""
    train, test = split_data(load_data(), test_size=test_size, random_state=random_state)
    # Both trainers depend only on the split, so the local orchestrator runs them at once.
    logreg = train_logistic_regression(train, random_state=random_state)
    forest = train_random_forest(train, random_state=random_state)
    # One step, two invocations: custom ids tell them apart in the run.
    logreg_metrics = evaluate(logreg, test, id="evaluate_logistic_regression")
    forest_metrics = evaluate(forest, test, id="evaluate_random_forest")
    # Fan-in: a dict of step outputs arrives in the step as a dict of values.
    return select_best({"logistic_regression": logreg_metrics, "random_forest": forest_metrics})


# -- running and reporting -----------------------------------------------------------------
def summarize(run: Any) -> None:
    """Print what the run did, what it produced and where the artifacts are."""
    print(f"\nRun {run.name}: {run.status.value} in {run.duration:.2f} s")
    print(f"  parameters: {run.parameters}")
    print("\n  step                              status      started   duration")
    for invocation_id, step_run in run.steps.items():
        started = (
            f"+{(step_run.start_time - run.start_time).total_seconds():.3f}s"
            if step_run.start_time and run.start_time
            else "-"
        )
        duration = f"{step_run.duration:.3f}s" if step_run.duration is not None else "-"
        print(f"  {invocation_id:<33} {step_run.status.value:<11} {started:>8}  {duration:>8}")

    print("\n  metrics (held-out rows)")
    print(f"  {'model':<22}{'accuracy':>10}{'precision':>11}{'recall':>9}{'f1':>8}")
    for model_name, invocation_id in (
        ("logistic_regression", "evaluate_logistic_regression"),
        ("random_forest", "evaluate_random_forest"),
    ):
        m = run.steps[invocation_id].outputs["metrics"].load()
        print(
            f"  {model_name:<22}{m['accuracy']:>10.4f}{m['precision']:>11.4f}"
            f"{m['recall']:>9.4f}{m['f1']:>8.4f}"
        )

    best = run.outputs["best_model"].load()
    best_metrics = run.outputs["best_metrics"].load()
    print(
        f"\n  winner: {best} (f1 {best_metrics['f1']:.4f}, accuracy {best_metrics['accuracy']:.4f})"
    )

    trainer = {
        "logistic_regression": "train_logistic_regression",
        "random_forest": "train_random_forest",
    }[best]
    model_artifact = run.steps[trainer].output
    print(f"  winning model artifact: {model_artifact.name} v{model_artifact.version}")
    print(f"    stored at {model_artifact.uri} ({model_artifact.materializer.rsplit('.', 1)[-1]})")
    print(f"  artifact store: {Client().active_stack.artifact_store_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--random-state", type=int, default=42)
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    args = parser.parse_args()

    # Show headrace's warnings (such as the cloudpickle fallback for sklearn models).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    runnable = quickstart_pipeline
    if args.no_cache:
        runnable = quickstart_pipeline.with_options(enable_cache=False)
    run = runnable(test_size=args.test_size, random_state=args.random_state)
    summarize(run)


if __name__ == "__main__":
    main()
