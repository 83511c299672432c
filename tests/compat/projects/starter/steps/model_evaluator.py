import pandas as pd
from sklearn.base import ClassifierMixin

from headrace import log_metadata, step
from headrace.client import Client
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def model_evaluator(
    model: ClassifierMixin,
    dataset_trn: pd.DataFrame,
    dataset_tst: pd.DataFrame,
    min_train_accuracy: float = 0.0,
    min_test_accuracy: float = 0.0,
    target: str = "target",
) -> float:
    """Scores the model on both parts and records the scores on the model version."""
    trn_acc = model.score(dataset_trn.drop(columns=[target]), dataset_trn[target])
    tst_acc = model.score(dataset_tst.drop(columns=[target]), dataset_tst[target])
    logger.info("Train accuracy=%.2f%%", trn_acc * 100)
    logger.info("Test accuracy=%.2f%%", tst_acc * 100)
    messages = []
    if trn_acc < min_train_accuracy:
        messages.append(f"Train accuracy {trn_acc * 100:.2f}% is below the threshold")
    if tst_acc < min_test_accuracy:
        messages.append(f"Test accuracy {tst_acc * 100:.2f}% is below the threshold")
    for message in messages:
        logger.warning(message)
    client = Client()
    latest_classifier = client.get_artifact_version("sklearn_classifier")
    log_metadata(
        metadata={"train_accuracy": float(trn_acc), "test_accuracy": float(tst_acc)},
        artifact_version_id=latest_classifier.id,
    )
    log_metadata(
        metadata={"train_accuracy": float(trn_acc), "test_accuracy": float(tst_acc)},
        infer_model=True,
    )
    return float(tst_acc)
