"""``BaseMaterializer``: how a type of value is written to and read from an artifact store.

A subclass names the types it handles in ``ASSOCIATED_TYPES`` and implements ``save`` and
``load``, writing below ``self.uri`` through ``self.artifact_store``. Defining a subclass
that declares its own ``ASSOCIATED_TYPES`` registers it as the default materializer for
them (the last definition wins); a subclass that only inherits them does not, so tweaking a
built-in materializer in a subclass does not silently take over every type it handles.
Steps can also pick one per output with ``output_materializers=``.

``save`` writes below ``self.uri``, which is a temporary directory renamed into place only
after ``save`` returned; a ``save`` that raises leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from headrace.artifact_stores.base import ArtifactStore, artifact_store_for
from headrace.enums import ArtifactType, VisualizationType


class BaseMaterializer(ABC):
    """Writes values of ``ASSOCIATED_TYPES`` below ``uri`` and reads them back."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA
    SKIP_REGISTRATION: ClassVar[bool] = False
    WRITES_THROUGH_STORE: ClassVar[bool] = False
    """Whether ``save`` (and ``save_visualizations``) write every file with the store's
    hashing calls only (``write_bytes``, ``copy_in`` of a file, ``remember_written``);
    then saving needs no listing and no second read to hash the artifact. A write that
    bypasses them is noticed only when it goes through the store, so a materializer
    that writes with other means (``open``, a library's own file output) must leave it
    false. Counts only on the class that defines the method: see
    :func:`writes_through_store`."""
    LOADS_PLAIN_DATA: ClassVar[bool] = False
    """Whether ``load`` only copies large files' bytes (into an array, out to a local
    file) and runs nothing from them. Such a load may read a large file while it is
    hashed, instead of after a separate pass that hashed it; the value is still handed
    out only once the hash matched. Counts only on the class that defines ``load`` (a
    subclass that overrides ``load`` does not inherit it): see :func:`loads_plain_data`."""

    def __init__(self, uri: str, artifact_store: ArtifactStore | None = None) -> None:
        self.uri = uri
        self.artifact_store = artifact_store or artifact_store_for(uri)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Registration only: the class itself is left exactly as written.
        super().__init_subclass__(**kwargs)
        declared = "ASSOCIATED_TYPES" in cls.__dict__
        if declared and cls.ASSOCIATED_TYPES and not cls.SKIP_REGISTRATION:
            from headrace.materializers.registry import materializer_registry

            materializer_registry.register(cls.ASSOCIATED_TYPES, cls)

    @abstractmethod
    def load(self, data_type: type[Any]) -> Any:
        """Read the value stored below ``self.uri`` as ``data_type``."""

    @abstractmethod
    def save(self, data: Any) -> None:
        """Write ``data`` below ``self.uri``."""

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """Write files that show ``data`` below ``self.uri``; returns their URIs and formats.

        The files become part of the artifact (hashed with it) and are recorded with the
        version, so ``headrace artifact show`` can display them.
        """
        return {}

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

    @contextmanager
    def get_temporary_directory(self, delete_at_exit: bool = True) -> Iterator[str]:
        """A local scratch directory, for libraries that can only read and write local paths.

        Materializers for such libraries write to it and then copy the result into the
        artifact store with ``self.artifact_store.copy_in`` (or the reverse when loading).
        """
        directory = tempfile.mkdtemp(prefix="headrace-materializer-")
        try:
            yield directory
        finally:
            if delete_at_exit:
                shutil.rmtree(directory, ignore_errors=True)


def loads_plain_data(materializer_class: type[BaseMaterializer]) -> bool:
    """Whether the ``load`` that ``materializer_class`` runs was declared by its own
    class to read large files only as plain data (``LOADS_PLAIN_DATA``)."""
    for klass in materializer_class.__mro__:
        if "load" in klass.__dict__:
            return klass is not BaseMaterializer and bool(
                klass.__dict__.get("LOADS_PLAIN_DATA", False)
            )
    return False


def _declared(materializer_class: type[BaseMaterializer], method: str, flag: str) -> bool:
    for klass in materializer_class.__mro__:
        if method in klass.__dict__:
            return klass is BaseMaterializer or bool(klass.__dict__.get(flag, False))
    return False


def writes_through_store(materializer_class: type[BaseMaterializer]) -> bool:
    """Whether the ``save`` and ``save_visualizations`` that ``materializer_class`` runs
    were declared by their own classes to write only with the store's hashing calls
    (``WRITES_THROUGH_STORE``); the base class's ``save_visualizations`` writes nothing."""
    return _declared(materializer_class, "save", "WRITES_THROUGH_STORE") and _declared(
        materializer_class, "save_visualizations", "WRITES_THROUGH_STORE"
    )
