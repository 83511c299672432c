"""Load and save artifacts by hand, inside or outside steps."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from headrace.artifacts.loading import artifact_store_of, load_artifact_version
from headrace.artifacts.saving import materializer_for_value, save_value
from headrace.models import ArtifactVersionRequest, ArtifactVersionResponse
from headrace.store.factory import active_store

if TYPE_CHECKING:
    from headrace.materializers.base_materializer import BaseMaterializer
    from headrace.store.base import Store


def _store() -> Store:
    return active_store()


def load_artifact(name_or_id: str, version: str | int | None = None) -> Any:
    """Load an artifact's value by version id, or by name and version (latest if omitted)."""
    store = _store()
    return load_artifact_version(store.get_artifact_version(str(name_or_id), version), store)


def save_artifact(
    data: Any,
    name: str,
    version: str | int | None = None,
    tags: list[str] | None = None,
    materializer: type[BaseMaterializer] | None = None,
) -> ArtifactVersionResponse:
    """Store ``data`` as a new version of the artifact ``name``."""
    store = _store()
    stack = store.get_default_stack()
    artifact_store = artifact_store_of(store, stack.id)
    version_id = str(uuid.uuid4())
    materializer_class = materializer_for_value(data, [materializer] if materializer else [])
    saved = save_value(
        data,
        artifact_store=artifact_store,
        uri=artifact_store.join(
            artifact_store.path, "artifacts", name.replace("/", "_"), version_id
        ),
        materializer_class=materializer_class,
    )
    return store.create_artifact_version(
        ArtifactVersionRequest(
            id=version_id,
            artifact_name=name,
            has_custom_name=True,
            uri=saved.uri,
            materializer=saved.materializer,
            data_type=saved.data_type,
            content_hash=saved.content_hash,
            size=saved.size,
            python_version=saved.python_version,
            type=saved.artifact_type,
            artifact_store_id=stack.id,
            metadata=saved.metadata,
            tags=list(tags or []),
            version=None if version is None else str(version),
        )
    )
