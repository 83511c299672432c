"""A hyper-parameter sweep that fans out at run time: one Ray task per candidate.

The pipeline is dynamic: how many ``evaluate`` steps run depends on the ``candidates``
step's output, so the graph is built while the run goes. Each ``evaluate`` step asks Ray
for one CPU; on a cluster they spread over the nodes, and the driver only schedules.
The data is scikit-learn's bundled wine data set, so nothing is downloaded.
"""

from __future__ import annotations

from typing import Annotated

from headrace import log_metadata, pipeline, step
from headrace.config.resource_settings import ResourceSettings


@step
def load_wine() -> tuple[Annotated[list[list[float]], "features"], Annotated[list[int], "labels"]]:
    """The wine data set (178 rows, 13 features, 3 classes), as plain lists."""
    from sklearn.datasets import load_wine as bundled

    data = bundled()
    return data.data.tolist(), data.target.tolist()


@step
def candidates(depths: list[int], min_leaf_sizes: list[int]) -> list[dict[str, int]]:
    """Every combination of the parameters to try."""
    if not depths or not min_leaf_sizes:
        raise ValueError("depths and min_leaf_sizes each need at least one value")
    return [
        {"max_depth": depth, "min_samples_leaf": leaf}
        for depth in depths
        for leaf in min_leaf_sizes
    ]


@step(settings={"resources": ResourceSettings(cpu_count=1)})
def evaluate(
    features: list[list[float]], labels: list[int], params: dict[str, int], folds: int = 5
) -> Annotated[float, "accuracy"]:
    """Mean cross-validated accuracy of a random forest with these parameters."""
    import os

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    model = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1, **params)
    scores = cross_val_score(model, features, labels, cv=folds)
    print(f"{params}: {scores.mean():.3f} (pid {os.getpid()})")
    return round(float(scores.mean()), 4)


@step
def pick_best(
    tried: list[dict[str, int]], accuracies: list[float]
) -> Annotated[dict[str, float], "best"]:
    """The candidate with the highest accuracy (the first of equals)."""
    best = max(range(len(tried)), key=lambda index: accuracies[index])
    result = {**tried[best], "accuracy": accuracies[best]}
    log_metadata(metadata={"best": result, "tried": len(tried)})
    return result


@pipeline(dynamic=True, enable_cache=False)
def sweep(depths: list[int] = [2, 4, 8], min_leaf_sizes: list[int] = [1, 5]) -> None:  # noqa: B006
    """Evaluate every candidate in parallel, then pick the best."""
    features, labels = load_wine()
    grid = candidates(depths=depths, min_leaf_sizes=min_leaf_sizes)
    tried = grid.load()
    scores = [
        evaluate(features, labels, params=params, id=f"evaluate_{index}")
        for index, params in enumerate(tried)
    ]
    pick_best(tried=tried, accuracies=[score.load() for score in scores])
