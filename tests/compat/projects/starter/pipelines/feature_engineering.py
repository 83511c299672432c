import os
from typing import List, Optional

from steps import data_loader, data_preprocessor, data_splitter

from headrace import pipeline
from headrace.config import DockerSettings
from headrace.logger import get_logger

logger = get_logger(__name__)

docker_settings = DockerSettings(
    required_integrations=["sklearn", "pandas"],
    # Unset on most machines: None must be accepted, as it is for the original.
    environment={"WANDB_API_KEY": os.getenv("WANDB_API_KEY_NOT_SET_ANYWHERE")},
)


@pipeline(settings={"docker": docker_settings})
def feature_engineering(
    test_size: float = 0.2,
    drop_na: Optional[bool] = None,
    normalize: Optional[bool] = None,
    drop_columns: Optional[List[str]] = None,
    target: Optional[str] = "target",
    random_state: int = 17,
):
    """Loads, splits and preprocesses the data."""
    raw_data = data_loader(random_state=random_state, target=target)
    dataset_trn, dataset_tst = data_splitter(dataset=raw_data, test_size=test_size)
    dataset_trn, dataset_tst, _ = data_preprocessor(
        dataset_trn=dataset_trn,
        dataset_tst=dataset_tst,
        drop_na=drop_na,
        normalize=normalize,
        drop_columns=drop_columns,
        target=target,
        random_state=random_state,
    )
    return dataset_trn, dataset_tst
