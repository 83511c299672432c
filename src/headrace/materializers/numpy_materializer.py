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
            array = _read_npy(handle)
        if isinstance(data_type, type) and issubclass(data_type, np.generic):
            return array[()]  # the 0-d array back as its numpy scalar
        return array

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        array = np.asarray(data)
        return {"shape": list(array.shape), "dtype": str(array.dtype)}


def _read_npy(handle: Any) -> Any:
    """A ``.npy`` file read straight into a new array with ``readinto``.

    ``np.load`` reads the data with ``np.fromfile``, several times slower than filling
    the array's memory from the file handle. Formats this does not cover (object arrays,
    format versions it does not know) go through ``np.load``.
    """
    import numpy as np

    fmt = np.lib.format
    start = handle.tell()
    version = fmt.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(handle)
    else:
        dtype = None
    if dtype is None or dtype.hasobject:
        handle.seek(start)
        return np.load(handle, allow_pickle=False)
    array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    flat = array.reshape(-1, order="A")  # a view: the array is contiguous either way
    view = memoryview(flat.view(np.uint8).data) if array.size else memoryview(b"")
    filled = 0
    while filled < len(view):
        count = handle.readinto(view[filled:])
        if not count:
            raise MaterializerError(
                f"The .npy file ends after {filled} of {len(view)} data bytes; it is truncated."
            )
        filled += count
    return array
