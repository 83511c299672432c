"""``ExternalArtifact``: a value or an existing artifact version passed to a step call.

``step(data=ExternalArtifact(value=df))`` stores ``df`` as an artifact version when the
pipeline is compiled and gives the step that version as its input, so the run records
where its input came from; ``ExternalArtifact(id=...)`` and
``ExternalArtifact(name=..., version=...)`` name a version that exists already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headrace.materializers.base_materializer import BaseMaterializer

_UNSET: Any = object()


class ExternalArtifact:
    """A step input that does not come from another step of the pipeline.

    Args:
        value: a value to store as a new artifact version (named ``name``, else after the
            pipeline, step and input it feeds).
        id: the id of an existing artifact version.
        name: with ``value``, the artifact name to store it under; alone, the artifact
            whose version ``version`` (the latest when omitted) is the input.
        version: the version of ``name`` (an existing one, or the name of the new one).
        materializer: the materializer for ``value``, instead of the registered one.
        store_artifact_metadata: record the materializer's metadata for ``value``.
        tags: tags of the version stored for ``value``.
    """

    def __init__(
        self,
        value: Any = _UNSET,
        *,
        id: str | None = None,
        name: str | None = None,
        version: str | int | None = None,
        materializer: type[BaseMaterializer] | None = None,
        store_artifact_metadata: bool = True,
        tags: list[str] | None = None,
    ) -> None:
        has_value = value is not _UNSET
        if has_value + (id is not None) + (name is not None and not has_value) != 1:
            raise ConfigurationError(
                "ExternalArtifact needs exactly one of value=, id= or name= (name= may "
                "also name the artifact a value= is stored as)."
            )
        if version is not None and name is None:
            raise ConfigurationError("ExternalArtifact: version= needs name=.")
        self.value = None if not has_value else value
        self.has_value = has_value
        self.id = None if id is None else str(id)
        self.name = name
        self.version = version
        self.materializer = materializer
        self.store_artifact_metadata = store_artifact_metadata
        self.tags = list(tags or [])
        self._version_id: str | None = None

    def __repr__(self) -> str:
        if self.has_value:
            return f"ExternalArtifact(value={type(self.value).__name__})"
        if self.id is not None:
            return f"ExternalArtifact(id={self.id!r})"
        return f"ExternalArtifact(name={self.name!r}, version={self.version!r})"

    def _headrace_input_version_id(self, default_name: str) -> str:
        """The version this input stands for; a value is stored the first time it is asked.

        Raises:
            EntityNotFoundError: no artifact version has that id, or name and version.
        """
        if self._version_id is None:
            self._version_id = self._resolve(default_name)
        return self._version_id

    def _resolve(self, default_name: str) -> str:
        from headrace.artifacts.utils import save_artifact
        from headrace.store.factory import active_store

        if self.has_value:
            saved = save_artifact(
                self.value,
                name=self.name or default_name,
                version=self.version,
                tags=self.tags,
                materializer=self.materializer,
                extract_metadata=self.store_artifact_metadata,
            )
            return saved.id
        if self.id is not None:
            return active_store().get_artifact_version(self.id).id
        assert self.name is not None
        return active_store().get_artifact_version(self.name, self.version).id
