"""Load and save artifacts by hand, inside or outside steps.

Inside a step these use the store of the running pipeline (the step runner makes it the
active store), so ``load_artifact(some_id)`` in a step reads from the same place the run
writes to.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from headrace.artifacts.loading import artifact_store_of, load_artifact_version
from headrace.artifacts.saving import materializer_for_value, save_value
from headrace.exceptions import ArtifactError, EntityExistsError, EntityNotFoundError
from headrace.models import ArtifactVersionRequest, ArtifactVersionResponse
from headrace.store.factory import active_store
from headrace.utils.names import label_problem, path_component

if TYPE_CHECKING:
    from headrace.materializers.base_materializer import BaseMaterializer
    from headrace.store.base import Store


def _store() -> Store:
    return active_store()


def load_artifact(name_or_id: str, version: str | int | None = None) -> Any:
    """Load an artifact's value by version id, or by name and version (latest if omitted).

    Raises:
        EntityNotFoundError: no artifact (version) of that name, id or version.
    """
    store = _store()
    return load_artifact_version(store.get_artifact_version(str(name_or_id), version), store)


def load_artifact_from_response(artifact: ArtifactVersionResponse) -> Any:
    """Load the value of an artifact version you already hold (``artifact.load()``)."""
    return artifact.load()


def _refuse_existing_version(store: Store, name: str, version: str) -> None:
    """Fail before any bytes are written when ``name`` already has ``version``."""
    try:
        store.get_artifact_version(name, version)
    except EntityNotFoundError:
        return
    raise EntityExistsError(
        f"Artifact {name!r} already has a version {version!r}; versions are immutable, "
        "pick a new version name."
    )


def save_artifact(
    data: Any,
    name: str,
    version: str | int | None = None,
    tags: list[str] | None = None,
    materializer: type[BaseMaterializer] | None = None,
    extract_metadata: bool = True,
    user_metadata: dict[str, Any] | None = None,
) -> ArtifactVersionResponse:
    """Store ``data`` as a new version of the artifact ``name``.

    Args:
        data: the value to store.
        name: the artifact's name; versions of one name are numbered 1, 2, ...
        version: an explicit version name instead of the next number; it must not be a
            number and must not exist yet.
        tags: tags of the new version.
        materializer: the materializer to use instead of the one registered for the type.
        extract_metadata: record storage size and the materializer's metadata.
        user_metadata: extra metadata to record with the version.

    Raises:
        EntityExistsError: ``version`` already exists for ``name`` (nothing is written).
    """
    problem = label_problem(name)
    if problem is not None:
        raise ArtifactError(f"Artifact name {name!r} {problem}.")
    store = _store()
    if version is not None:
        _refuse_existing_version(store, name, str(version))
    stack = store.get_active_stack()
    artifact_store = artifact_store_of(store, stack.id)
    version_id = str(uuid.uuid4())
    materializer_class = materializer_for_value(data, [materializer] if materializer else [])
    saved = save_value(
        data,
        artifact_store=artifact_store,
        uri=artifact_store.join(artifact_store.path, "artifacts", path_component(name), version_id),
        materializer_class=materializer_class,
        collect_metadata=extract_metadata,
    )
    try:
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
                metadata={**saved.metadata, **(user_metadata or {})},
                tags=list(tags or []),
                version=None if version is None else str(version),
                visualizations=saved.visualizations,
                inline_content=saved.inline,
            )
        )
    except BaseException:
        if saved.inline is None:
            artifact_store.rmtree(saved.uri)  # unrecorded bytes would never be found again
        raise
