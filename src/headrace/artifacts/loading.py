"""Read an artifact version back into a value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifact_stores.components import (
    artifact_store_for_url,
    artifact_store_from_component,
)
from headrace.artifact_stores.memory import InlineFilesStore
from headrace.artifacts.integrity import check_inline, check_load, verify_artifact
from headrace.artifacts.saving import temporary_path
from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer, loads_plain_data
from headrace.materializers.cloudpickle_materializer import (
    CloudpickleMaterializer,
    check_python_version,
)
from headrace.materializers.registry import resolve_source

if TYPE_CHECKING:
    from headrace.models import ArtifactVersionResponse
    from headrace.store.base import Store

_ARTIFACT_STORES: dict[tuple[str, str], ArtifactStore] = {}


def artifact_store_of(store: Store, stack_id: str) -> ArtifactStore:
    """The artifact store component of a stack (looked up once per store URL and stack).

    Artifact versions record the stack they were written through (``artifact_store_id``),
    so their bytes are read through the same component.
    """
    key = (store.url, stack_id)
    found = _ARTIFACT_STORES.get(key)
    if found is None:
        stack = store.get_stack(stack_id)
        found = artifact_store_from_component(stack.artifact_store, store, stack.id)
        _ARTIFACT_STORES[key] = found
    return found


def forget_artifact_stores() -> None:
    """Drop the looked-up artifact stores (after a stack or component changed)."""
    _ARTIFACT_STORES.clear()


def load_value(
    *,
    uri: str,
    materializer: str,
    data_type: str,
    python_version_written: str | None,
    artifact_store: ArtifactStore,
    objects: dict[str, Any] | None = None,
    name: str = "artifact",
    content_hash: str | None = None,
    inline: bytes | None = None,
) -> Any:
    """Load the value at ``uri`` with the materializer (source) that wrote it.

    ``objects`` maps sources to live objects (a run's own steps and materializers), so
    classes defined inside functions resolve without an import. Only ``materializer`` (the
    record) decides how the bytes are read, and they are checked against ``content_hash``
    (the record's hash) before the materializer opens them.

    Raises:
        ArtifactError: the files are gone from the artifact store.
        ArtifactIntegrityError: the files differ from the recorded content hash (or the
            inline bytes are garbled).
        MaterializerError: the materializer that wrote the artifact cannot be imported.
        ArtifactIncompatibleError: a pickle written by another Python version.
    """
    try:
        materializer_class = resolve_source(materializer, objects)
    except Exception as exc:
        raise MaterializerError(
            f"{name} was written by materializer {materializer!r}, which cannot be loaded "
            f"here: {exc}"
        ) from exc
    if isinstance(materializer_class, type) and issubclass(
        materializer_class, CloudpickleMaterializer
    ):
        check_python_version(python_version_written, name[:1].upper() + name[1:])
    try:
        dtype = resolve_source(data_type, objects)
    except Exception:
        dtype = object  # the materializer decides whether it can do without the class
    if inline is not None:
        files = InlineFilesStore(uri, check_inline(inline, content_hash, name, uri))
        return materializer_class(uri, files).load(dtype)
    streaming = isinstance(materializer_class, type) and (
        issubclass(materializer_class, BaseMaterializer) and loads_plain_data(materializer_class)
    )
    return check_load(
        artifact_store,
        uri,
        content_hash,
        name,
        lambda: materializer_class(uri, artifact_store).load(dtype),
        streaming=streaming,
    )


def load_artifact_version(version: ArtifactVersionResponse, store: Store) -> Any:
    """Load an artifact version recorded in ``store``."""
    return load_value(
        uri=version.uri,
        materializer=version.materializer,
        data_type=version.data_type,
        python_version_written=version.python_version,
        artifact_store=artifact_store_of(store, version.artifact_store_id),
        name=f"artifact {version.name!r} version {version.version}",
        content_hash=version.content_hash,
        inline=version.inline_content,
    )


def files_of_version(version: ArtifactVersionResponse, store: Store) -> ArtifactStore:
    """The store that serves ``version``'s files at ``version.uri``: its artifact store,
    or (for an inline version) its checked record bytes, read-only.

    Raises:
        ArtifactIntegrityError: the inline bytes are garbled or differ from the hash.
    """
    if version.inline_content is None:
        return artifact_store_of(store, version.artifact_store_id)
    name = f"artifact version {version.id}"
    files = check_inline(version.inline_content, version.content_hash, name, version.uri)
    return InlineFilesStore(version.uri, files, version.artifact_store_id)


def write_out_inline(version: ArtifactVersionResponse, store: Store) -> None:
    """Make an inline version's files exist at ``version.uri`` in its artifact store, for
    code that reads the URI itself (a step input annotated ``UnmaterializedArtifact``).

    The record's bytes are checked first, written below a temporary sibling and renamed
    into place, so a reader never sees half of them; files already there (written by an
    earlier call) are kept when they hash to the record's content hash.

    Raises:
        ArtifactIntegrityError: the record's bytes are garbled or differ from the hash,
            or different files are already at the URI.
    """
    if version.inline_content is None:
        return
    name = f"artifact version {version.id}"
    files = check_inline(version.inline_content, version.content_hash, name, version.uri)
    artifact_store = artifact_store_of(store, version.artifact_store_id)
    uri = version.uri
    if artifact_store.exists(uri):
        verify_artifact(artifact_store, uri, version.content_hash, name)
        return
    target = temporary_path(artifact_store, uri)
    direct = target == uri
    try:
        artifact_store.makedirs(target)
        for relative, data in files.items():
            artifact_store.write_bytes(artifact_store.join(target, relative), data)
        if not direct:
            artifact_store.rename(target, uri)
    except OSError:
        if not direct:
            artifact_store.rmtree(target)
        if not artifact_store.exists(uri):
            raise
        # Another reader wrote them first: they must be the same files.
    verify_artifact(artifact_store, uri, version.content_hash, name)


def read_text(uri: str, store: Store | None = None) -> str:
    """Read a text file the run wrote into its artifact store (logs, visualizations).

    A remote URL is read through the artifact store component it is below (found in
    ``store``), so that store's endpoint and credentials apply.
    """
    if "://" in uri and not uri.startswith("file://"):
        remote = artifact_store_for_url(uri, store)
        if remote is not None:
            with remote.open(uri, "r") as text:
                return str(text.read())
        import fsspec

        with fsspec.open(uri, "r") as handle:
            return str(handle.read())
    with open(uri.removeprefix("file://"), encoding="utf-8") as handle:
        return handle.read()
