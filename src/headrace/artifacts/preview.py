"""Short previews of artifact versions for the dashboard, read without running any code
the artifact came with.

Only the files of headrace's own materializers that are plain data are read: JSON (built-in
values, pydantic models, dataclasses), ``.npy`` arrays (``allow_pickle=False``), Parquet
tables and structured strings. Nothing is unpickled and no class named by the record is
imported, so a preview is as safe as reading a JSON file; anything else is described, not
loaded. Files are read only below the version's own directory, so a record cannot point
a preview (or a visualization) at other files of the server.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.artifacts.loading import artifact_store_of, files_of_version
from headrace.exceptions import ArtifactError

if TYPE_CHECKING:
    from headrace.artifact_stores.base import ArtifactStore
    from headrace.models import ArtifactVersionResponse
    from headrace.store.base import Store

MAX_TEXT_CHARS = 20_000
MAX_ROWS = 50
MAX_ITEMS = 20
MAX_VISUALIZATION_BYTES = 20 * 1024 * 1024
_JSON_MATERIALIZERS = ("built_in_materializer", "pydantic_materializer", "dataclass_materializer")
_TEXT_FILES = ("output.html", "output.md", "output.csv", "output.json")


@dataclass
class Preview:
    """What the dashboard shows of a value.

    Attributes:
        kind: ``json``, ``text``, ``table``, ``array`` or ``none`` (not previewable).
        text: the value as text (``json`` and ``text``), cut at ``MAX_TEXT_CHARS``.
        truncated: whether ``text`` or ``rows`` were cut.
        columns: column names of a table.
        rows: the first rows of a table, each cell as text.
        total_rows: how many rows the table has.
        shape: an array's shape.
        dtype: an array's element type.
        reason: why there is no preview (``none``).
    """

    kind: str
    text: str | None = None
    truncated: bool = False
    columns: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    total_rows: int | None = None
    shape: list[int] | None = None
    dtype: str | None = None
    reason: str | None = None


def inside(root: str, path: str) -> bool:
    """Whether ``path`` is ``root`` or below it (after resolving ``..``)."""
    scheme_root, _, rest_root = root.rpartition("://")
    scheme_path, _, rest_path = path.rpartition("://")
    if scheme_root != scheme_path:
        return False
    base = posixpath.normpath(rest_root)
    target = posixpath.normpath(rest_path)
    return target == base or target.startswith(base.rstrip("/") + "/")


def preview_artifact_version(version: ArtifactVersionResponse, store: Store) -> Preview:
    """A preview of ``version``'s value (see the module docstring for what is read); an
    inline version's files are read from its record (checked against its hash)."""
    artifact_store = files_of_version(version, store)
    module = version.materializer.rsplit(".", 2)
    family = module[-2] if len(module) >= 2 else ""
    own = version.materializer.startswith("headrace.materializers.")
    try:
        if own and family in _JSON_MATERIALIZERS:
            return _json_preview(artifact_store, version.uri)
        if own and family == "numpy_materializer":
            return _array_preview(artifact_store, version.uri)
        if own and family == "pandas_materializer":
            return _table_preview(artifact_store, version.uri)
        if own and family == "structured_string_materializer":
            return _text_preview(artifact_store, version.uri)
    except (OSError, ValueError) as exc:
        raise ArtifactError(
            f"The files of artifact version {version.id} at {version.uri} cannot be read "
            f"for a preview: {exc}"
        ) from exc
    return Preview(
        kind="none",
        reason=(
            f"Values written by {version.materializer} ({version.data_type}) are not "
            "previewed: the server loads no pickles or user code."
        ),
    )


def _cut(text: str) -> tuple[str, bool]:
    return (text[:MAX_TEXT_CHARS], True) if len(text) > MAX_TEXT_CHARS else (text, False)


def _json_preview(artifact_store: ArtifactStore, uri: str) -> Preview:
    path = posixpath.join(uri, "data.json")
    if not artifact_store.exists(path):
        if artifact_store.exists(posixpath.join(uri, "data.bin")):
            size = artifact_store.size(posixpath.join(uri, "data.bin"))
            return Preview(kind="text", text=f"bytes ({size} bytes)")
        return Preview(kind="none", reason="The value is stored element by element.")
    with artifact_store.open(path, "r") as handle:
        raw = handle.read(MAX_TEXT_CHARS * 50 + 1)
    if len(raw) > MAX_TEXT_CHARS * 50:
        text, _ = _cut(raw)
        return Preview(kind="text", text=text, truncated=True)
    text, truncated = _cut(json.dumps(json.loads(raw), indent=2, ensure_ascii=False))
    return Preview(kind="json", text=text, truncated=truncated)


def _text_preview(artifact_store: ArtifactStore, uri: str) -> Preview:
    for name in _TEXT_FILES:
        path = posixpath.join(uri, name)
        if artifact_store.exists(path):
            with artifact_store.open(path, "r") as handle:
                text, truncated = _cut(handle.read(MAX_TEXT_CHARS + 1))
            return Preview(kind="text", text=text, truncated=truncated)
    return Preview(kind="none", reason="The string's file is missing.")


def _array_preview(artifact_store: ArtifactStore, uri: str) -> Preview:
    try:
        import numpy as np
    except ImportError:
        return Preview(kind="none", reason="numpy is not installed on the server.")
    with artifact_store.open(posixpath.join(uri, "data.npy"), "rb") as handle:
        array = np.load(handle, allow_pickle=False)
    window = array
    truncated = False
    if array.ndim >= 1:
        index = tuple(slice(0, MAX_ITEMS) for _ in range(array.ndim))
        window = array[index]
        truncated = window.size < array.size
    with np.printoptions(threshold=MAX_ITEMS**2, edgeitems=MAX_ITEMS):
        text = np.array2string(np.asarray(window))
    return Preview(
        kind="array",
        text=_cut(text)[0],
        truncated=truncated,
        shape=[int(n) for n in array.shape],
        dtype=str(array.dtype),
    )


def _table_preview(artifact_store: ArtifactStore, uri: str) -> Preview:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return Preview(kind="none", reason="pyarrow is not installed on the server.")
    with artifact_store.open(posixpath.join(uri, "data.parquet"), "rb") as handle:
        parquet = pq.ParquetFile(handle)
        total = parquet.metadata.num_rows
        first = next(parquet.iter_batches(batch_size=MAX_ROWS), None)
        columns = [str(name) for name in parquet.schema_arrow.names]
        rows: list[list[str | None]] = []
        if first is not None:
            data = first.to_pydict()
            names = list(data)
            columns = [str(name) for name in names]
            for index in range(first.num_rows):
                rows.append([_cell(data[name][index]) for name in names])
    return Preview(
        kind="table", columns=columns, rows=rows, total_rows=total, truncated=total > len(rows)
    )


def _cell(value: Any) -> str | None:
    return None if value is None else str(value)


def read_visualization(
    version: ArtifactVersionResponse, index: int, store: Store
) -> tuple[bytes, str]:
    """The bytes and file name of ``version``'s visualization number ``index``.

    Raises:
        ArtifactError: no such visualization, it lies outside the version's directory,
            it is too large, or it cannot be read.
    """
    if not 0 <= index < len(version.visualizations):
        raise ArtifactError(
            f"Artifact version {version.id} has {len(version.visualizations)} "
            f"visualization(s); there is no number {index}."
        )
    uri = version.visualizations[index].uri
    if not inside(version.uri, uri):
        raise ArtifactError(
            f"Visualization {index} of artifact version {version.id} ({uri}) is not inside "
            f"the version's directory {version.uri}; it is not served."
        )
    artifact_store = artifact_store_of(store, version.artifact_store_id)
    try:
        if artifact_store.size(uri) > MAX_VISUALIZATION_BYTES:
            raise ArtifactError(
                f"Visualization {index} of artifact version {version.id} is larger than "
                f"{MAX_VISUALIZATION_BYTES} bytes; open it from the artifact store."
            )
        with artifact_store.open(uri, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ArtifactError(
            f"Visualization {index} of artifact version {version.id} cannot be read at {uri}: {exc}"
        ) from exc
    return bytes(data), posixpath.basename(uri)
