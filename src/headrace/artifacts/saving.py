"""Write one value as an artifact: to a temporary path first, renamed into place when whole.

A step that fails half-way through writing leaves nothing at the final URI (and no
temporary directory either), so no metadata can point at partial bytes. The content hash
covers the files' relative names and bytes, never the URI, so equal values written by two
runs hash equal.

A small value whose materializer writes only through the store is captured in memory
first and, if it stays small, kept in its record instead of the artifact store
(``SavedArtifact.inline``, see ``headrace.artifacts.inline``): no file is written at all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from headrace.artifact_stores.base import ArtifactStore, files_digest
from headrace.artifact_stores.memory import CapturingStore
from headrace.artifacts.inline import encode_files, inline_limit
from headrace.config.source import type_source
from headrace.enums import ArtifactType, VisualizationType
from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer, writes_through_store
from headrace.materializers.registry import materializer_registry, remember_source
from headrace.utils.ids import random_id
from headrace.utils.records import Record
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()

PYTHON_VERSION = ".".join(str(v) for v in sys.version_info[:3])


class SavedArtifact(Record):
    """What was written, ready to be recorded as an artifact version."""

    __slots__ = (
        "artifact_type",
        "content_hash",
        "data_type",
        "inline",
        "materializer",
        "metadata",
        "python_version",
        "size",
        "uri",
        "visualizations",
    )
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    size: int
    artifact_type: ArtifactType
    python_version: str
    metadata: dict[str, Any]
    visualizations: list[dict[str, str]]
    inline: bytes | None
    """The files in the inline encoding when they are kept in the record (nothing was
    written at ``uri``); ``None`` when they are in the artifact store."""

    def __init__(
        self,
        uri: str,
        materializer: str,
        data_type: str,
        content_hash: str,
        size: int,
        artifact_type: ArtifactType,
        python_version: str = PYTHON_VERSION,
        metadata: dict[str, Any] | None = None,
        visualizations: list[dict[str, str]] | None = None,
        inline: bytes | None = None,
    ) -> None:
        self.uri = uri
        self.materializer = materializer
        self.data_type = data_type
        self.content_hash = content_hash
        self.size = size
        self.artifact_type = artifact_type
        self.python_version = python_version
        self.metadata = {} if metadata is None else metadata
        self.visualizations = [] if visualizations is None else visualizations
        self.inline = inline


def materializer_for_value(
    value: Any, candidates: Sequence[type[BaseMaterializer]] = ()
) -> type[BaseMaterializer]:
    """The materializer for ``value``: the first candidate that handles its type, else the
    registered default for its type (falling back to cloudpickle).

    A candidate that declares no ``ASSOCIATED_TYPES`` and keeps the default
    ``can_handle_type`` accepts any value: naming it for an output is the declaration.

    Raises:
        MaterializerError: candidates were given and none of them handles the value's type.
    """
    value_type = type(value)
    for candidate in candidates:
        if candidate.can_handle_type(value_type) or _accepts_anything(candidate):
            return candidate
    if candidates:
        names = ", ".join(c.__name__ for c in candidates)
        raise MaterializerError(
            f"None of the configured materializers ({names}) handles type "
            f"{value_type.__module__}.{value_type.__qualname__}."
        )
    return materializer_registry.default_for(value_type)


def _accepts_anything(candidate: type[BaseMaterializer]) -> bool:
    inherited = getattr(candidate.can_handle_type, "__func__", None)
    default = getattr(BaseMaterializer.can_handle_type, "__func__", None)
    return not candidate.ASSOCIATED_TYPES and inherited is default


def _metadata(materializer: BaseMaterializer, value: Any, size: int) -> dict[str, Any]:
    """Storage size plus what the materializer extracts; a failing extractor only warns,
    since metadata must never cost the user a computed result."""
    metadata: dict[str, Any] = {"storage_size": size}
    try:
        metadata.update(materializer.extract_metadata(value) or {})
    except Exception as exc:
        logger.warning(
            "%s.extract_metadata failed (%s: %s); the artifact is stored without it.",
            type(materializer).__name__,
            type(exc).__name__,
            exc,
        )
    return metadata


def _visualizations(
    materializer: BaseMaterializer, value: Any, temporary: str, uri: str
) -> list[dict[str, str]]:
    """The visualizations the materializer writes, with their final URIs; like metadata,
    a failing one only warns."""
    try:
        written = materializer.save_visualizations(value) or {}
    except Exception as exc:
        logger.warning(
            "%s.save_visualizations failed (%s: %s); the artifact is stored without them.",
            type(materializer).__name__,
            type(exc).__name__,
            exc,
        )
        return []
    return [
        {
            "uri": uri + path[len(temporary) :] if path.startswith(temporary) else path,
            "type": VisualizationType(kind).value,
        }
        for path, kind in written.items()
    ]


def temporary_path(artifact_store: ArtifactStore, uri: str) -> str:
    """Where files meant for ``uri`` are written before they are renamed into place: a
    fresh sibling of ``uri``, or ``uri`` itself on a store that cannot rename (object
    stores write there directly, see ``remote.py``)."""
    if not artifact_store.atomic_rename:
        return uri
    # The name from the batched ids: uuid4 costs a system call per output.
    return f"{uri}.tmp-{random_id().replace('-', '')[:12]}"


def save_value(
    value: Any,
    *,
    artifact_store: ArtifactStore,
    uri: str,
    materializer_class: type[BaseMaterializer],
    collect_metadata: bool = True,
    collect_visualizations: bool = True,
) -> SavedArtifact:
    """Materialize ``value`` at ``uri`` atomically and describe what was written.

    The materializer writes below a temporary sibling of ``uri`` that is renamed to
    ``uri`` only once it is complete and hashed; on any error (or interrupt) the
    temporary directory is removed and the error propagates. A materializer that writes
    only through the store writes into memory first: files of at most
    ``HEADRACE_ARTIFACT_INLINE_MAX_BYTES`` in total come back as ``inline`` and nothing
    is written; anything else is written out and saved as above.
    """
    temporary = temporary_path(artifact_store, uri)
    direct = temporary == uri
    # A materializer that writes only through the store's hashing calls lets the store
    # know every file and its hash: no listing and no second read to hash the artifact.
    through_store = writes_through_store(materializer_class)
    record = artifact_store.begin_record(temporary) if through_store else None
    limit = inline_limit() if through_store else 0
    capture = CapturingStore(artifact_store, temporary, limit) if limit > 0 else None
    inline: bytes | None = None
    try:
        if capture is None:
            artifact_store.makedirs(temporary)
        materializer = materializer_class(temporary, capture or artifact_store)
        materializer.save(value)
        visualizations = (
            _visualizations(materializer, value, temporary, uri) if collect_visualizations else []
        )
        if capture is not None and visualizations:
            capture.spill()  # visualizations are files the dashboard opens by their URIs
        if capture is not None and not capture.spilled:
            files = capture.files()
            content_hash, size = files_digest(files)
            inline = encode_files(files)
        elif record is not None and record.complete:
            content_hash, size = artifact_store.recorded_digest(record)
        else:
            content_hash, size = artifact_store.digest(temporary)
        metadata = _metadata(materializer, value, size) if collect_metadata else {}
        if record is not None:
            artifact_store.end_record(record)
            record = None
        if inline is None and not direct:
            artifact_store.rename(temporary, uri)
    except BaseException:
        if record is not None:
            artifact_store.end_record(record)
        if capture is None or capture.spilled:
            artifact_store.rmtree(temporary)
        raise
    return SavedArtifact(
        uri=uri,
        materializer=remember_source(materializer_class),
        data_type=_data_type_source(value),
        content_hash=content_hash,
        size=size,
        artifact_type=materializer_class.ASSOCIATED_ARTIFACT_TYPE,
        metadata=metadata,
        visualizations=visualizations,
        inline=inline,
    )


def _data_type_source(value: Any) -> str:
    source = type_source(type(value))
    if source is None:
        return "builtins.object"
    remember_source(type(value))
    return source
