"""Materializers: how values become artifact bytes and back.

``BaseMaterializer`` is the class to subclass for custom types. The built-in ones are
importable from here too (loaded on first access, so importing this package stays cheap
and numpy / pandas are imported only by those who use their materializers).
"""

from typing import Any

from headrace.materializers.base_materializer import BaseMaterializer
from headrace.utils.lazy import lazy_attributes

_LAZY = {
    "BuiltInContainerMaterializer": "built_in_materializer",
    "BuiltInMaterializer": "built_in_materializer",
    "BytesMaterializer": "built_in_materializer",
    "CloudpickleMaterializer": "cloudpickle_materializer",
    "DataclassMaterializer": "dataclass_materializer",
    "NumpyMaterializer": "numpy_materializer",
    "PandasMaterializer": "pandas_materializer",
    "PathMaterializer": "path_materializer",
    "PydanticMaterializer": "pydantic_materializer",
}


_load = lazy_attributes(__name__, _LAZY)


def __getattr__(name: str) -> Any:  # a def, so type checkers see lazily loaded names
    return _load(name)


__all__ = [
    "BaseMaterializer",
    "BuiltInContainerMaterializer",
    "BuiltInMaterializer",
    "BytesMaterializer",
    "CloudpickleMaterializer",
    "DataclassMaterializer",
    "NumpyMaterializer",
    "PandasMaterializer",
    "PathMaterializer",
    "PydanticMaterializer",
]
