from typing import Annotated, Optional

import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import SGDClassifier

from headrace import ArtifactConfig, step
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def model_trainer(
    dataset_trn: pd.DataFrame,
    model_type: str = "sgd",
    target: Optional[str] = "target",
) -> Annotated[
    ClassifierMixin,
    ArtifactConfig(name="sklearn_classifier", is_model_artifact=True, tags=["trained"]),
]:
    """Trains the chosen classifier on the training part."""
    if model_type == "sgd":
        model = SGDClassifier(random_state=42)
    elif model_type == "rf":
        model = RandomForestClassifier(n_estimators=20, random_state=42)
    else:
        raise ValueError(f"Unknown model type {model_type}")
    logger.info("Training model %s...", model)
    model.fit(dataset_trn.drop(columns=[target]), dataset_trn[target])
    return model
