"""NumPy arrays and scalars as ``.npy`` without pickle: dtypes, shapes, and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.saving import SavedArtifact
from headrace.exceptions import MaterializerError

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]

ARRAYS = {
    "float64 2d": np.arange(12, dtype=np.float64).reshape(3, 4) / 7,
    "float32 with nan/inf": np.array([np.nan, np.inf, -np.inf, 1.5], dtype=np.float32),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "uint64 big": np.array([2**64 - 1], dtype=np.uint64),
    "bool 3d": np.ones((2, 3, 4), dtype=bool),
    "complex": np.array([1 + 2j, -3j]),
    "unicode": np.array(["a", "héllo", ""]),
    "bytes": np.array([b"ab", b"\x00"]),
    "datetime64": np.array(["2024-01-01", "2024-12-31"], dtype="datetime64[D]"),
    "0-d": np.array(3.5),
    "empty": np.empty((0, 5), dtype=np.int32),
    "fortran order": np.asfortranarray(np.arange(6).reshape(2, 3)),
    "strided view": np.arange(20)[::3],
    "structured": np.array([(1, 2.5), (3, 4.5)], dtype=[("id", "i4"), ("score", "f8")]),
    "big-endian": np.arange(4, dtype=">i4"),
}


@pytest.mark.parametrize("array", ARRAYS.values(), ids=ARRAYS.keys())
def test_arrays_round_trip_with_dtype_and_shape(roundtrip: RoundTrip, array: np.ndarray) -> None:
    loaded, saved = roundtrip(array)

    assert type(loaded) is np.ndarray
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    assert saved.materializer.endswith("NumpyMaterializer")


def test_array_is_a_plain_npy_file_readable_without_pickle(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(np.arange(3))

    assert artifact_store.listdir(saved.uri) == ["data.npy"]
    with artifact_store.open(artifact_store.join(saved.uri, "data.npy"), "rb") as handle:
        np.testing.assert_array_equal(np.load(handle, allow_pickle=False), np.arange(3))


@pytest.mark.parametrize(
    "scalar",
    [np.float64(1.25), np.float32(-2.5), np.int64(2**40), np.uint8(255), np.bool_(True)],
    ids=lambda s: type(s).__name__,
)
def test_numpy_scalars_keep_their_numpy_type(roundtrip: RoundTrip, scalar: np.generic) -> None:
    loaded, _ = roundtrip(scalar)

    assert type(loaded) is type(scalar) and loaded == scalar


def test_metadata_records_shape_and_dtype(roundtrip: RoundTrip) -> None:
    _, saved = roundtrip(np.zeros((4, 2), dtype=np.float32))

    assert saved.metadata["shape"] == [4, 2]
    assert saved.metadata["dtype"] == "float32"
    assert saved.metadata["storage_size"] == saved.size > 4 * 2 * 4


def test_equal_arrays_equal_hashes(roundtrip: RoundTrip) -> None:
    first = roundtrip(np.arange(10))[1].content_hash

    assert roundtrip(np.arange(10))[1].content_hash == first
    assert roundtrip(np.arange(10).astype(np.int32))[1].content_hash != first
    assert roundtrip(np.arange(10).reshape(2, 5))[1].content_hash != first


@pytest.mark.parametrize(
    "array",
    [
        np.array([{"a": 1}, None], dtype=object),
        np.array([(1, [2])], dtype=[("n", "i4"), ("x", "O")]),
    ],
    ids=["object", "structured with object field"],
)
def test_object_arrays_are_refused_with_advice(
    roundtrip: RoundTrip, artifact_store: ArtifactStore, array: np.ndarray
) -> None:
    with pytest.raises(MaterializerError, match="holds Python objects.*without pickle"):
        roundtrip(array, name="refused")

    # Nothing is left behind: not the target, not the temporary directory.
    assert not artifact_store.exists(artifact_store.join(artifact_store.path, "refused"))
    if artifact_store.exists(artifact_store.path):
        assert not [n for n in artifact_store.listdir(artifact_store.path) if ".tmp-" in n]


def test_masked_arrays_are_refused_instead_of_losing_the_mask(roundtrip: RoundTrip) -> None:
    with pytest.raises(MaterializerError, match="mask"):
        roundtrip(np.ma.masked_array([1, 2], mask=[True, False]))


def test_large_arrays_load_whole_and_leave_numpys_huge_page_switch_as_it_was(
    roundtrip: RoundTrip,
) -> None:
    """Arrays from 4 MiB are allocated with huge pages switched on or off for the load
    (whichever the kernel can serve without stalling); the value is the same either way
    and the process-wide switch is put back."""
    from headrace.materializers.numpy_materializer import _huge_page_switch

    toggle = _huge_page_switch()
    assert toggle is not None, "numpy's huge-page switch moved: update _huge_page_switch"
    before = toggle(True)
    toggle(before)
    array = np.arange(3 << 20, dtype=np.float32).reshape(3, 1 << 20)  # 12 MiB
    loaded, _saved = roundtrip(array)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == array.dtype and loaded.flags.c_contiguous
    assert toggle(before) == before
