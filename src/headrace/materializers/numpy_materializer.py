"""NumPy arrays and scalars as ``.npy`` files, written and read without pickle.

``allow_pickle=False`` on both sides means loading a stored array can never run code; the
price is that arrays holding Python objects (``dtype=object``) are refused with an error
that says what to do instead. Scalars (``np.float32(1.5)``) are stored as 0-d arrays and
come back as the same numpy scalar type, not as a Python float.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.npy"


class NumpyMaterializer(BaseMaterializer):
    """``numpy.ndarray`` and numpy scalars with a non-object dtype."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (np.ndarray, np.generic)

    def save(self, data: Any) -> None:
        if isinstance(data, np.ma.MaskedArray):
            raise MaterializerError(
                "A numpy masked array would lose its mask as a .npy file; return its .data "
                "and .mask as two outputs, or register a materializer for MaskedArray."
            )
        array = np.asarray(data)
        if array.dtype.hasobject:
            raise MaterializerError(
                f"A numpy array of dtype {array.dtype} holds Python objects and cannot be "
                "saved without pickle; convert it to a numeric or string dtype "
                "(e.g. arr.astype(str)), or return a list."
            )
        with self.artifact_store.open(self.join(DATA_FILE), "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            array = np.load(handle, allow_pickle=False)
        if isinstance(data_type, type) and issubclass(data_type, np.generic):
            return array[()]  # the 0-d array back as its numpy scalar
        return array

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        array = np.asarray(data)
        return {"shape": list(array.shape), "dtype": str(array.dtype)}
