"""How a fitted scikit-learn estimator is stored: pickled, with the versions it needs.

A pickled estimator only loads safely under the scikit-learn it was made with, so the
versions are written beside it and checked on load: a mismatch is refused with both
versions named instead of failing somewhere inside scikit-learn later.
"""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any

import sklearn
from sklearn.base import BaseEstimator

from headrace.enums import ArtifactType
from headrace.io import fileio
from headrace.materializers import BaseMaterializer

MODEL_FILE = "estimator.pkl"
VERSIONS_FILE = "versions.json"


def _versions() -> dict[str, str]:
    return {"python": "{}.{}".format(*sys.version_info[:2]), "scikit-learn": sklearn.__version__}


class SklearnEstimatorMaterializer(BaseMaterializer):
    """Any fitted estimator (a ``Pipeline`` included), stored as a model artifact."""

    ASSOCIATED_TYPES = (BaseEstimator,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.MODEL

    def save(self, data: BaseEstimator) -> None:
        with fileio.open(self.join(MODEL_FILE), "wb") as file:
            pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
        with fileio.open(self.join(VERSIONS_FILE), "w") as file:
            json.dump(_versions(), file)

    def load(self, data_type: type[Any]) -> BaseEstimator:
        with fileio.open(self.join(VERSIONS_FILE)) as file:
            saved = json.load(file)
        if saved != _versions():
            raise ValueError(
                f"{self.uri}: this estimator was saved with {saved} and cannot be loaded "
                f"safely with {_versions()}; train it again in this environment."
            )
        with fileio.open(self.join(MODEL_FILE), "rb") as file:
            estimator: BaseEstimator = pickle.load(file)
        return estimator

    def extract_metadata(self, data: BaseEstimator) -> dict[str, Any]:
        return {"estimator": type(data).__name__, **_versions()}
