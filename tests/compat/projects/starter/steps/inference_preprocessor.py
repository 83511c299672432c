from typing import Annotated

import pandas as pd
from sklearn.pipeline import Pipeline

from headrace import step


@step
def inference_preprocessor(
    dataset_inf: pd.DataFrame, preprocess_pipeline: Pipeline, target: str
) -> Annotated[pd.DataFrame, "inference_dataset"]:
    """Applies the fitted preprocessing to the inference data."""
    dataset_inf[target] = pd.Series([1] * dataset_inf.shape[0])
    dataset_inf = preprocess_pipeline.transform(dataset_inf)
    dataset_inf.drop(columns=[target], inplace=True)
    return dataset_inf
