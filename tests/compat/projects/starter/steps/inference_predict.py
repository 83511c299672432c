from typing import Annotated

import pandas as pd

from headrace import get_step_context, step
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def inference_predict(dataset_inf: pd.DataFrame) -> Annotated[pd.Series, "predictions"]:
    """Predicts with the production classifier of the pipeline's model."""
    model = get_step_context().model
    classifier = model.load_artifact("sklearn_classifier")
    predictions = pd.Series(classifier.predict(dataset_inf), name="predicted")
    logger.info("%d predictions made with model version %s", len(predictions), model.number)
    return predictions
