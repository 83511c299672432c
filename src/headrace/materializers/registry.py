"""Which materializer handles a type: by registered class along the MRO, then by kind.

Lookup walks the type's MRO and takes the first class with a registered materializer, so
a subclass of a registered type is handled like its base unless it has its own entry.
Materializers for optional libraries (numpy, pandas, pydantic, pathlib) are imported only
when a value from that library first appears, which keeps ``import headrace`` light.

Registration order: a user's materializer replaces an earlier one for the same type (the
last registered wins), but headrace's own materializers never replace a user's: they may
be imported lazily *after* the user registered theirs.

The registry also remembers the live classes it has seen by source string, so values of
classes defined inside functions (whose source cannot be imported) still load back in the
process that wrote them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headrace.config.source import is_importable_source, load_source, source_of

if TYPE_CHECKING:
    from headrace.materializers.base_materializer import BaseMaterializer

# Top-level package of a type -> the module holding headrace's materializer for it.
_LAZY_BY_PACKAGE: dict[str, str] = {
    "numpy": "headrace.materializers.numpy_materializer",
    "pandas": "headrace.materializers.pandas_materializer",
    "pydantic": "headrace.materializers.pydantic_materializer",
    "pathlib": "headrace.materializers.path_materializer",
}

_BUILTIN_PREFIX = "headrace.materializers."


class MaterializerRegistry:
    """Maps types to their default materializer."""

    def __init__(self) -> None:
        self._by_type: dict[type, type[BaseMaterializer]] = {}
        self._builtins_loaded = False
        self._lazy_loaded: set[str] = set()

    def register(self, types: tuple[type, ...], materializer: type[BaseMaterializer]) -> None:
        """Make ``materializer`` the default for each of ``types``.

        The last registration wins, except that headrace's own materializers never replace
        one a user registered (they are imported lazily, possibly after the user's).
        """
        builtin = materializer.__module__.startswith(_BUILTIN_PREFIX)
        for data_type in types:
            current = self._by_type.get(data_type)
            if builtin and current is not None and current is not materializer:
                continue
            self._by_type[data_type] = materializer

    def is_registered(self, data_type: type) -> bool:
        """Whether ``data_type`` itself (not a base class) has a registered materializer."""
        return data_type in self._by_type

    def _load_builtins(self) -> None:
        # Imports are thread-safe, so two threads racing here both see a complete module.
        if not self._builtins_loaded:
            importlib.import_module("headrace.materializers.built_in_materializer")
            self._builtins_loaded = True

    def _load_lazy(self, klass: type) -> bool:
        """Import headrace's materializer for ``klass``'s library; whether one was imported."""
        package = (getattr(klass, "__module__", None) or "").split(".", 1)[0]
        module = _LAZY_BY_PACKAGE.get(package)
        if module is None or module in self._lazy_loaded:
            return False
        importlib.import_module(module)
        self._lazy_loaded.add(module)
        return True

    def find(self, data_type: type[Any]) -> type[BaseMaterializer] | None:
        """The registered materializer for ``data_type`` or its nearest base, if any."""
        self._load_builtins()
        direct = self._by_type.get(data_type)
        if direct is not None:
            return direct
        for klass in getattr(data_type, "__mro__", (data_type,)):
            if klass is object:
                break
            found = self._by_type.get(klass)
            if found is None and self._load_lazy(klass):
                found = self._by_type.get(klass)
            if found is not None:
                return found
        from headrace.materializers.dataclass_materializer import DataclassMaterializer

        if DataclassMaterializer.can_handle_type(data_type):
            return DataclassMaterializer
        return None

    def default_for(self, data_type: type[Any]) -> type[BaseMaterializer]:
        """``find``, falling back to cloudpickle (which warns when it saves)."""
        found = self.find(data_type)
        if found is not None:
            return found
        from headrace.materializers.cloudpickle_materializer import CloudpickleMaterializer

        return CloudpickleMaterializer


materializer_registry = MaterializerRegistry()

# Live classes by source, for sources a fresh import cannot reach (``<locals>``, ``__main__``).
_LIVE: dict[str, Any] = {}


def remember_source(obj: Any) -> str:
    """The source of a class, remembering the class itself if its source is not importable."""
    source = source_of(obj)
    if not is_importable_source(source):
        _LIVE[source] = obj
    return source


def resolve_source(source: str, objects: dict[str, Any] | None = None) -> Any:
    """The class a source names: from ``objects``, then this process's memory, then import."""
    if objects and source in objects:
        return objects[source]
    live = _LIVE.get(source)
    if live is not None:
        return live
    return load_source(source)
