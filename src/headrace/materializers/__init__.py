"""Materializers: how values become artifact bytes and back.

``BaseMaterializer`` is the class to subclass for custom types. The built-in ones are
importable from here too (loaded on first access, so importing this package stays cheap
and numpy / pandas are imported only by those who use their materializers).
"""

from typing import Any

from headrace.materializers.base_materializer import BaseMaterializer

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'headrace.materializers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"headrace.materializers.{module}"), name)


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
