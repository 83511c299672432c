"""Write one value as an artifact: to a temporary path first, renamed into place when whole.

A step that fails half-way through writing leaves nothing at the final URI, so no
metadata can point at partial bytes.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.config.source import source_of, type_source
from headrace.enums import ArtifactType
from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.materializers.registry import materializer_registry

PYTHON_VERSION = ".".join(str(v) for v in sys.version_info[:3])


@dataclass
class SavedArtifact:
    """What was written, ready to be recorded as an artifact version."""

    uri: str
    materializer: str
    data_type: str
    content_hash: str
    size: int
    artifact_type: ArtifactType
    python_version: str = PYTHON_VERSION
    metadata: dict[str, Any] = field(default_factory=dict)


def materializer_for_value(
    value: Any, candidates: Sequence[type[BaseMaterializer]] = ()
) -> type[BaseMaterializer]:
    """The materializer for ``value``: the first candidate that handles its type, else the
    registered default for its type (falling back to cloudpickle)."""
    value_type = type(value)
    for candidate in candidates:
        if candidate.can_handle_type(value_type) or not candidate.ASSOCIATED_TYPES:
            return candidate
    if candidates:
        names = ", ".join(c.__name__ for c in candidates)
        raise MaterializerError(
            f"None of the configured materializers ({names}) handles type "
            f"{value_type.__module__}.{value_type.__qualname__}."
        )
    return materializer_registry.default_for(value_type)


def save_value(
    value: Any,
    *,
    artifact_store: ArtifactStore,
    uri: str,
    materializer_class: type[BaseMaterializer],
    collect_metadata: bool = True,
) -> SavedArtifact:
    """Materialize ``value`` at ``uri`` atomically and describe what was written."""
    temporary = f"{uri}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        artifact_store.makedirs(temporary)
        materializer = materializer_class(temporary, artifact_store)
        materializer.save(value)
        content_hash, size = artifact_store.digest(temporary)
        metadata: dict[str, Any] = {}
        if collect_metadata:
            metadata["storage_size"] = size
            metadata.update(materializer.extract_metadata(value))
        artifact_store.rename(temporary, uri)
    except BaseException:
        artifact_store.rmtree(temporary)
        raise
    return SavedArtifact(
        uri=uri,
        materializer=source_of(materializer_class),
        data_type=type_source(type(value)) or "builtins.object",
        content_hash=content_hash,
        size=size,
        artifact_type=materializer_class.ASSOCIATED_ARTIFACT_TYPE,
        metadata=metadata,
    )
