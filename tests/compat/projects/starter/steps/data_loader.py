import logging
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_breast_cancer

from headrace import log_metadata, step
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def data_loader(
    random_state: int, is_inference: bool = False, target: str = "target"
) -> Annotated[pd.DataFrame, "dataset"]:
    """Loads the breast cancer data set; a small random part is kept for inference."""
    inference_size = int(len(load_breast_cancer().target) * 0.05)
    dataset = load_breast_cancer(as_frame=True)["frame"]
    inference_subset = dataset.sample(inference_size, random_state=random_state)
    if is_inference:
        dataset = inference_subset
        dataset.drop(columns=target, inplace=True)
    else:
        dataset.drop(inference_subset.index, inplace=True)
    dataset.reset_index(drop=True, inplace=True)
    logger.info("Dataset with %d records loaded!", len(dataset))
    logging.info("rows kept for inference: %d", inference_size)
    log_metadata(metadata={"random_state": random_state}, infer_artifact=True)
    return dataset
