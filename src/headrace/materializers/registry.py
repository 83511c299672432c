"""Which materializer handles a type: by exact class along the MRO, then by kind."""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.materializers.base_materializer import BaseMaterializer

# Materializers for types of optional libraries, imported only when such a value appears.
_LAZY: dict[str, str] = {
    "numpy.ndarray": "headrace.materializers.numpy_materializer",
    "pandas.core.frame.DataFrame": "headrace.materializers.pandas_materializer",
    "pandas.core.series.Series": "headrace.materializers.pandas_materializer",
    "pydantic.main.BaseModel": "headrace.materializers.pydantic_materializer",
    "pathlib.Path": "headrace.materializers.path_materializer",
    "pathlib._local.Path": "headrace.materializers.path_materializer",
    "pathlib.PurePath": "headrace.materializers.path_materializer",
}


class MaterializerRegistry:
    """Maps types to their default materializer."""

    def __init__(self) -> None:
        self._by_type: dict[type, type[BaseMaterializer]] = {}
        self._builtins_loaded = False

    def register(self, types: tuple[type, ...], materializer: type[BaseMaterializer]) -> None:
        """Make ``materializer`` the default for each of ``types`` (the last one wins)."""
        for data_type in types:
            self._by_type[data_type] = materializer

    def _load_builtins(self) -> None:
        if not self._builtins_loaded:
            self._builtins_loaded = True
            importlib.import_module("headrace.materializers.built_in_materializer")

    def find(self, data_type: type[Any]) -> type[BaseMaterializer] | None:
        """The registered materializer for ``data_type`` or its nearest base, if any."""
        self._load_builtins()
        direct = self._by_type.get(data_type)
        if direct is not None:
            return direct
        mro = getattr(data_type, "__mro__", (data_type,))
        for klass in mro:
            if klass is object:
                break
            found = self._by_type.get(klass)
            if found is not None:
                return found
            lazy = _LAZY.get(f"{klass.__module__}.{klass.__qualname__}")
            if lazy is not None:
                importlib.import_module(lazy)
                found = self._by_type.get(klass)
                if found is not None:
                    return found
        if isinstance(data_type, type) and dataclasses.is_dataclass(data_type):
            from headrace.materializers.dataclass_materializer import DataclassMaterializer

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
