from typing import Annotated, Tuple

import pandas as pd
from sklearn.model_selection import train_test_split

from headrace import step


@step
def data_splitter(
    dataset: pd.DataFrame, test_size: float = 0.2
) -> Tuple[
    Annotated[pd.DataFrame, "raw_dataset_trn"],
    Annotated[pd.DataFrame, "raw_dataset_tst"],
]:
    """Splits the data set into a training and a test part."""
    dataset_trn, dataset_tst = train_test_split(
        dataset, test_size=test_size, random_state=42, shuffle=True
    )
    return pd.DataFrame(dataset_trn, columns=dataset.columns), pd.DataFrame(
        dataset_tst, columns=dataset.columns
    )
