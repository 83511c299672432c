"""Typed metadata values and how they are stored.

Metadata is a ``{key: value}`` mapping where a value is JSON (``str``, ``int``, ``float``,
``bool``, ``None``, ``list``, ``dict``), a ``tuple`` or ``set``, or one of the marker types
below. JSON keeps only the plain value, so the store records each value's type name
beside it (``encode_metadata``) and responses turn the pair back into the typed value
(``decode_metadata``): a ``Uri`` logged comes back a ``Uri``, a tuple a tuple.

The marker types subclass ``str`` or ``int``, so they work wherever the plain value does.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeAlias

from headrace.exceptions import ConfigurationError


class Uri(str):
    """A URI (``s3://bucket/key``, ``https://...``)."""

    __slots__ = ()


class Path(str):
    """A file system path."""

    __slots__ = ()


class DType(str):
    """A data type name (``int64``, ``float32``)."""

    __slots__ = ()


class StorageSize(int):
    """A size in bytes."""

    __slots__ = ()


class MetadataTypeEnum(StrEnum):
    """Type names recorded beside each stored metadata value."""

    STRING = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NONE = "null"
    LIST = "list"
    DICT = "dict"
    TUPLE = "tuple"
    SET = "set"
    URI = "Uri"
    PATH = "Path"
    DTYPE = "DType"
    STORAGE_SIZE = "StorageSize"


MetadataType: TypeAlias = (
    str | int | float | bool | list[Any] | dict[str, Any] | tuple[Any, ...] | set[Any] | None
)

# Exact type -> name. Subclasses are looked up exactly first, so ``Uri`` is never taken
# for ``str`` and ``bool`` never for ``int``.
_TYPE_NAMES: dict[type, MetadataTypeEnum] = {
    str: MetadataTypeEnum.STRING,
    int: MetadataTypeEnum.INT,
    float: MetadataTypeEnum.FLOAT,
    bool: MetadataTypeEnum.BOOL,
    type(None): MetadataTypeEnum.NONE,
    list: MetadataTypeEnum.LIST,
    dict: MetadataTypeEnum.DICT,
    tuple: MetadataTypeEnum.TUPLE,
    set: MetadataTypeEnum.SET,
    frozenset: MetadataTypeEnum.SET,
    Uri: MetadataTypeEnum.URI,
    Path: MetadataTypeEnum.PATH,
    DType: MetadataTypeEnum.DTYPE,
    StorageSize: MetadataTypeEnum.STORAGE_SIZE,
}

# Name -> how to rebuild the value from its JSON form. Plain JSON types need nothing.
_DECODERS: dict[str, Callable[[Any], Any]] = {
    MetadataTypeEnum.TUPLE: tuple,
    MetadataTypeEnum.SET: set,
    MetadataTypeEnum.URI: Uri,
    MetadataTypeEnum.PATH: Path,
    MetadataTypeEnum.DTYPE: DType,
    MetadataTypeEnum.STORAGE_SIZE: StorageSize,
}


def type_name(value: Any) -> str:
    """The recorded type name of a metadata value (``"str"`` for unknown ``str`` kinds).

    Subclasses of the JSON types other than the markers (an ``IntEnum``, a ``numpy``
    scalar that subclasses ``float``) are recorded as their JSON base type.
    """
    kind = _TYPE_NAMES.get(type(value))
    if kind is not None:
        return kind.value
    for base, name in _TYPE_NAMES.items():
        if isinstance(value, base):
            return name.value
    return MetadataTypeEnum.STRING.value


def _plain(value: Any) -> Any:
    """The JSON form of a value (sets and tuples become lists)."""
    if isinstance(value, set | frozenset | tuple):
        return [_plain(v) for v in value]
    return value


def encode_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Split metadata into JSON values and the type name of each value."""
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    for key, value in metadata.items():
        values[key] = _plain(value)
        types[key] = type_name(value)
    return values, types


def decode_metadata(
    values: Mapping[str, Any] | None, types: Mapping[str, str] | None
) -> dict[str, Any]:
    """Rebuild typed values from stored JSON values and their type names.

    Keys without a type name (metadata written before types were recorded) keep their
    JSON value. Decoding a typed value again is harmless, so responses may do it twice.
    """
    result = dict(values or {})
    if not types:
        return result
    for key, name in types.items():
        decoder = _DECODERS.get(name)
        if decoder is not None and key in result and result[key] is not None:
            # An unexpected stored form keeps its JSON value, which is still useful.
            with contextlib.suppress(TypeError, ValueError):
                result[key] = decoder(result[key])
    return result


def validate_metadata(metadata: Any, *, owner: str = "metadata") -> dict[str, Any]:
    """Check user metadata before it is stored; returns it as a plain ``dict``.

    Raises:
        ConfigurationError: not a mapping, a key is not a non-empty string, or a value
            cannot be stored as JSON (the key is named).
    """
    if not isinstance(metadata, Mapping):
        raise ConfigurationError(
            f"{owner} must be a dict of key -> value, got {type(metadata).__name__}."
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise ConfigurationError(f"{owner}: keys must be non-empty strings, got {key!r}.")
        try:
            json.dumps(_plain(value), allow_nan=True, default=_refuse)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{owner}[{key!r}]: {exc}. Metadata values must be JSON (str, int, float, "
                "bool, None, list, dict), a tuple or set, or one of Uri, Path, DType, "
                "StorageSize from headrace.metadata.metadata_types."
            ) from None
    return dict(metadata)


def _refuse(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"a {type(value).__name__} cannot be stored as JSON")


__all__ = [
    "DType",
    "MetadataType",
    "MetadataTypeEnum",
    "Path",
    "StorageSize",
    "Uri",
    "decode_metadata",
    "encode_metadata",
    "type_name",
    "validate_metadata",
]
