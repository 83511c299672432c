"""NumPy arrays as ``.npy`` files, written and read without pickle."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.npy"


class NumpyMaterializer(BaseMaterializer):
    """``numpy.ndarray`` with a non-object dtype."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (np.ndarray,)

    def save(self, data: Any) -> None:
        if data.dtype.hasobject:
            raise MaterializerError(
                f"A numpy array of dtype {data.dtype} holds Python objects and cannot be saved "
                "without pickle; convert it to a numeric or string dtype, or use a list."
            )
        with self.artifact_store.open(self.join(DATA_FILE), "wb") as handle:
            np.save(handle, data, allow_pickle=False)

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            return np.load(handle, allow_pickle=False)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"shape": list(data.shape), "dtype": str(data.dtype)}
