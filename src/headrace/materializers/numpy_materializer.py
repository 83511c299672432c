"""NumPy arrays and scalars as ``.npy`` files, written and read without pickle.

``allow_pickle=False`` on both sides means loading a stored array can never run code; the
price is that arrays holding Python objects (``dtype=object``) are refused with an error
that says what to do instead. Scalars (``np.float32(1.5)``) are stored as 0-d arrays and
come back as the same numpy scalar type, not as a Python float.
"""

from __future__ import annotations

import importlib
import io
import os
from typing import Any, ClassVar, Literal

import numpy as np

from headrace.artifact_stores.hashing import StreamCheck
from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.utils.huge_pages import huge_pages_at_hand

DATA_FILE = "data.npy"


class NumpyMaterializer(BaseMaterializer):
    """``numpy.ndarray`` and numpy scalars with a non-object dtype."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (np.ndarray, np.generic)
    LOADS_PLAIN_DATA: ClassVar[bool] = True  # never pickle: bytes only fill an array
    WRITES_THROUGH_STORE: ClassVar[bool] = True

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
        path = self.join(DATA_FILE)
        if array.nbytes < _DIRECT_FROM:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            self.artifact_store.write_bytes(path, buffer.getvalue())
            return
        # The header and the array's own memory, hashed beside the write (no copy).
        self.artifact_store.write_buffers(path, _npy_parts(array))

    def load(self, data_type: type[Any]) -> Any:
        path = self.join(DATA_FILE)
        with self.artifact_store.open(path, "rb") as handle:
            array = _read_npy(handle, self.artifact_store.stream_check(path))
        if isinstance(data_type, type) and issubclass(data_type, np.generic):
            return array[()]  # the 0-d array back as its numpy scalar
        return array

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        array = np.asarray(data)
        return {"shape": list(array.shape), "dtype": str(array.dtype)}


_DIRECT_FROM = 1 << 20  # arrays from this size are read and written with plain system calls
_HUGE_PAGES_FROM = 4 << 20  # numpy asks for huge pages from this size
_DIRECT_CHUNK = 1 << 30  # one system call per GiB
_CHECKED_CHUNK = 32 << 20  # while hashed: small enough for reading and hashing to overlap


def _descriptor(handle: Any) -> int | None:
    """The OS file descriptor behind a local file handle; ``None`` for other handles."""
    if not isinstance(handle, io.BufferedIOBase | io.RawIOBase):
        return None
    try:
        return int(handle.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _npy_parts(array: Any) -> tuple[bytes, memoryview]:
    """The ``.npy`` header of ``array`` and its data bytes in memory order (a view of the
    array, not a copy, when it is contiguous): together the bytes ``np.save`` writes."""
    fmt = np.lib.format
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    header_fields = fmt.header_data_from_array_1_0(array)
    header = io.BytesIO()
    try:
        fmt.write_array_header_1_0(header, header_fields)
    except ValueError:  # a header too long for format 1.0, as np.save does
        header = io.BytesIO()
        fmt.write_array_header_2_0(header, header_fields)
    flat = array.reshape(-1, order="A")  # a view, in memory order (what .npy stores)
    return header.getvalue(), memoryview(flat.view(np.uint8).data)


def _new_array(shape: Any, dtype: Any, fortran: bool) -> Any:
    """An uninitialised array for a loaded ``.npy``: a large one in huge pages when the
    kernel has them free, in ordinary pages otherwise (``headrace.utils.huge_pages`` says
    why and what each costs).

    numpy asks for huge pages for every array of 4 MiB or more; the switch is numpy's
    own (private, hence looked up defensively) and is put back at once, so an array
    allocated meanwhile by another thread merely gets the same choice.
    """
    order: Literal["C", "F"] = "F" if fortran else "C"
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    toggle = _huge_page_switch()
    if toggle is None or nbytes < _HUGE_PAGES_FROM:
        return np.empty(shape, dtype=dtype, order=order)
    previous = toggle(huge_pages_at_hand(nbytes))
    try:
        return np.empty(shape, dtype=dtype, order=order)
    finally:
        toggle(previous)


def _huge_page_switch() -> Any:
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), "_set_madvise_hugepage", None)
        except ImportError:
            continue
    return None


def _read_npy(handle: Any, check: StreamCheck | None = None) -> Any:
    """A ``.npy`` file read straight into a new array with ``readinto``.

    ``np.load`` reads the data with ``np.fromfile``, several times slower than filling
    the array's memory from the file handle. Formats this does not cover (object arrays,
    format versions it does not know) go through ``np.load``. ``check`` (a load's
    pending check of this file) is fed every byte read, header and data, so the file is
    hashed as it is read instead of in a pass of its own.
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
        if check is not None:
            check.abandon()  # hashed on its own before the value is handed out
        return np.load(handle, allow_pickle=False)
    offset = handle.tell()
    if check is not None:
        if start:
            check.abandon()
        else:
            handle.seek(0)
            check.feed(handle.read(offset))
    array = _new_array(shape, dtype, fortran)
    flat = array.reshape(-1, order="A")  # a view: the array is contiguous either way
    view = memoryview(flat.view(np.uint8).data) if array.size else memoryview(b"")
    filled = 0
    chunk = _DIRECT_CHUNK if check is None else _CHECKED_CHUNK
    descriptor = _descriptor(handle)
    if descriptor is not None and len(view) >= _DIRECT_FROM:
        # A large array is read with pread straight into its memory: a buffered reader's
        # readinto of hundreds of MiB is several times slower than the plain system call.
        # The array's memory is never written again, so each chunk is hashed on a second
        # thread while the next one is read.
        while filled < len(view):
            part = view[filled : filled + chunk]
            count = os.preadv(descriptor, [part], offset + filled)
            if not count:
                break
            if check is not None:
                check.feed(part[:count])
            filled += count
        handle.seek(offset + filled)
    while filled < len(view):
        part = view[filled : filled + chunk]
        count = handle.readinto(part)
        if not count:
            raise MaterializerError(
                f"The .npy file ends after {filled} of {len(view)} data bytes; it is truncated."
            )
        if check is not None:
            check.feed(part[:count])
        filled += count
    return array
