"""``BaseMaterializer``: how a type of value is written to and read from an artifact store.

A subclass names the types it handles in ``ASSOCIATED_TYPES`` and implements ``save`` and
``load``, writing below ``self.uri`` through ``self.artifact_store``. Defining a subclass
with associated types registers it as the default materializer for them; steps can also
pick one per output with ``output_materializers=``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from headrace.artifact_stores.base import ArtifactStore, artifact_store_for
from headrace.enums import ArtifactType


class BaseMaterializer(ABC):
    """Writes values of ``ASSOCIATED_TYPES`` below ``uri`` and reads them back."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA
    SKIP_REGISTRATION: ClassVar[bool] = False

    def __init__(self, uri: str, artifact_store: ArtifactStore | None = None) -> None:
        self.uri = uri
        self.artifact_store = artifact_store or artifact_store_for(uri)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Registration only: the class itself is left exactly as written.
        super().__init_subclass__(**kwargs)
        if cls.ASSOCIATED_TYPES and not cls.SKIP_REGISTRATION:
            from headrace.materializers.registry import materializer_registry

            materializer_registry.register(cls.ASSOCIATED_TYPES, cls)

    @abstractmethod
    def load(self, data_type: type[Any]) -> Any:
        """Read the value stored below ``self.uri`` as ``data_type``."""

    @abstractmethod
    def save(self, data: Any) -> None:
        """Write ``data`` below ``self.uri``."""

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """Metadata worth recording about ``data`` (shape, dtype, rows, ...)."""
        return {}

    @classmethod
    def can_handle_type(cls, data_type: type[Any]) -> bool:
        """Whether this materializer can save and load ``data_type``."""
        return any(
            isinstance(data_type, type) and issubclass(data_type, t) for t in cls.ASSOCIATED_TYPES
        )

    def join(self, *names: str) -> str:
        """A path below ``self.uri``."""
        return self.artifact_store.join(self.uri, *names)
