"""Built-in types as JSON: numbers, strings, booleans, ``None``, bytes, and containers of them.

Containers (list, tuple, dict, set, frozenset) are written as one JSON document when every
element is built-in; tuples, sets, bytes and non-string dict keys are tagged so they come
back as they were, and set elements are sorted so equal sets give equal bytes (and equal
content hashes) whatever their iteration order. Only values of exactly a built-in type are
encoded in the document: an ``Enum`` member or another subclass inside a container would
come back as its base type, so such a container is written element by element instead,
each element with its own materializer. Nothing is pickled just because it sits in a list.

A subclass of a built-in type at the top level (an ``IntEnum`` member, an ``OrderedDict``,
a namedtuple) is stored as its base value and rebuilt with the recorded type on load.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"
BYTES_FILE = "data.bin"
MANIFEST_FILE = "manifest.json"
TAG = "__headrace__"

_SCALARS: tuple[type, ...] = (bool, int, float, str, type(None))
_CONTAINERS: tuple[type, ...] = (list, tuple, dict, set, frozenset)


class _NotBuiltInError(Exception):
    """A value (somewhere inside a container) is not exactly of a built-in type."""


def encode(value: Any) -> Any:
    """Tagged JSON form of a built-in value; raises ``_NotBuiltInError`` for anything else."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [encode(v) for v in value]
    if kind is tuple:
        return {TAG: "tuple", "items": [encode(v) for v in value]}
    if kind is set or kind is frozenset:
        items = sorted((encode(v) for v in value), key=_sort_key)
        return {TAG: kind.__name__, "items": items}
    if kind is bytes:
        return {TAG: "bytes", "b64": base64.b64encode(value).decode()}
    if kind is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    raise _NotBuiltInError(f"{kind.__module__}.{kind.__qualname__}")


def _sort_key(encoded: Any) -> str:
    # Encoded elements of one set may have different types; their JSON text always compares.
    return json.dumps(encoded, sort_keys=True)


def decode(value: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        tag = value.get(TAG)
        if tag is None:
            return {k: decode(v) for k, v in value.items()}
        if tag == "tuple":
            return tuple(decode(v) for v in value["items"])
        if tag == "set":
            return {decode(v) for v in value["items"]}
        if tag == "frozenset":
            return frozenset(decode(v) for v in value["items"])
        if tag == "bytes":
            return base64.b64decode(value["b64"])
        if tag == "dict":
            return {_hashable(decode(k)): decode(v) for k, v in value["items"]}
    return value


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _base_container(data: Any) -> type:
    """The built-in container type ``data`` is an instance of."""
    for kind in _CONTAINERS:
        if isinstance(data, kind):
            return kind
    raise MaterializerError(f"{type(data).__qualname__} is not a list, tuple, dict or set.")


def rebuild(value: Any, data_type: Any) -> Any:
    """Turn a loaded base value back into ``data_type`` (a subclass of its type).

    Namedtuples take their fields positionally, other subclasses are called with the base
    value. When that fails (a ``defaultdict`` needs its factory), the base value is
    returned: equal content, plainer type.
    """
    if not isinstance(data_type, type) or value is None or isinstance(value, data_type):
        return value
    bases = tuple(b for b in data_type.__mro__[1:] if b is not object)
    if not bases or not isinstance(value, bases):
        return value  # the recorded type is unrelated (e.g. ``object``): keep what we read
    items: Any = value  # narrowed to ``object`` above; it is the loaded base value
    try:
        if issubclass(data_type, tuple) and hasattr(data_type, "_fields"):
            return data_type(*items)
        return data_type(value)
    except Exception:
        return value


class BuiltInMaterializer(BaseMaterializer):
    """``bool``, ``int``, ``float``, ``str``, ``None`` and enum members as JSON.

    An enum member is stored by name (always a string, so enums whose values are not JSON
    still round-trip) and, when it is JSON, by value (for combined flags such as
    ``Perm.R | Perm.W``); it loads as the member of the recorded enum class.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (bool, int, float, str, type(None), Enum)
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    def save(self, data: Any) -> None:
        if isinstance(data, Enum):
            document: Any = {TAG: "enum", "name": data.name, "value": _encoded_or_none(data.value)}
        elif isinstance(data, _SCALARS):
            document = data  # json writes a str/int/float subclass as its base value
        else:
            try:
                document = encode(data)
            except _NotBuiltInError as exc:
                raise MaterializerError(
                    f"{type(data).__qualname__} value is not a built-in value; "
                    "register a materializer for its type."
                ) from exc
        self.artifact_store.write_bytes(self.join(DATA_FILE), json.dumps(document).encode())

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(DATA_FILE), "r") as handle:
            raw = json.loads(handle.read())
        if isinstance(raw, dict) and raw.get(TAG) == "enum":
            if isinstance(data_type, type) and issubclass(data_type, Enum):
                return _enum_member(data_type, raw)
            raise MaterializerError(
                f"The enum member {raw['name']!r} at {self.uri} cannot be loaded: its enum "
                f"class is not available (recorded type: {data_type!r})."
            )
        value = decode(raw)
        if data_type is float and isinstance(value, int):
            return float(value)
        return rebuild(value, data_type)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            return {"length": len(data)}
        return {}


def _encoded_or_none(value: Any) -> Any:
    try:
        return encode(value)
    except _NotBuiltInError:
        return None


def _enum_member(enum_type: type[Enum], document: dict[str, Any]) -> Enum:
    """The member by name; by value for combined flags, whose name (``R|W``) is no key."""
    try:
        return enum_type[document["name"]]
    except KeyError:
        return enum_type(decode(document.get("value")))


class BytesMaterializer(BaseMaterializer):
    """``bytes`` and ``bytearray`` as a raw file."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (bytes, bytearray)
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    def save(self, data: Any) -> None:
        self.artifact_store.write_bytes(self.join(BYTES_FILE), bytes(data))

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(BYTES_FILE), "rb") as handle:
            raw = handle.read()
        if data_type is bytearray:
            return bytearray(raw)
        return rebuild(raw, data_type)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}


class BuiltInContainerMaterializer(BaseMaterializer):
    """``list``, ``tuple``, ``dict``, ``set`` and ``frozenset`` (and their subclasses)."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = _CONTAINERS
    WRITES_THROUGH_STORE: ClassVar[bool] = True  # elements' materializers are checked

    def save(self, data: Any) -> None:
        base = _base_container(data)
        try:
            document = encode(base(data) if type(data) is not base else data)
        except _NotBuiltInError:
            self._save_elementwise(data, base)
            return
        self.artifact_store.write_bytes(self.join(DATA_FILE), json.dumps(document).encode())

    def load(self, data_type: type[Any]) -> Any:
        # A save writes exactly one of the two files. The JSON document wins whenever it is
        # there, so files added next to it (a manifest naming a pickle) are never read.
        try:
            handle = self.artifact_store.open(self.join(DATA_FILE), "r")
        except FileNotFoundError:
            return rebuild(self._load_elementwise(), data_type)
        with handle:
            value = decode(json.load(handle))
        return rebuild(value, data_type)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}

    # -- element by element -------------------------------------------------------------
    def _save_elementwise(self, data: Any, base: type) -> None:
        from headrace.config.source import type_source
        from headrace.materializers.base_materializer import writes_through_store
        from headrace.materializers.registry import materializer_registry, remember_source

        if base is dict:
            keys = list(data)
            values = list(data.values())
            try:
                encoded_keys = [encode(k) for k in keys]
            except _NotBuiltInError as exc:
                raise MaterializerError(
                    f"Dict keys must be built-in values (str, int, tuple, ...) to be stored, "
                    f"got a key of type {exc}."
                ) from exc
        else:
            values = list(data)
            encoded_keys = []
        entries = []
        for index, value in enumerate(values):
            materializer_class = materializer_registry.default_for(type(value))
            if not writes_through_store(materializer_class):
                # It may write past the store's hashing calls: list the artifact's files.
                self.artifact_store.unrecorded_write(self.uri)
            materializer_class(self.join(str(index)), self.artifact_store).save(value)
            remember_source(type(value))
            entries.append(
                {
                    "materializer": remember_source(materializer_class),
                    "data_type": type_source(type(value)),
                }
            )
        manifest = {"kind": base.__name__, "keys": encoded_keys, "items": entries}
        self.artifact_store.write_bytes(self.join(MANIFEST_FILE), json.dumps(manifest).encode())

    def _load_elementwise(self) -> Any:
        from headrace.materializers.registry import resolve_source

        with self.artifact_store.open(self.join(MANIFEST_FILE), "r") as handle:
            manifest = json.load(handle)
        values = []
        for index, entry in enumerate(manifest["items"]):
            materializer_class = resolve_source(entry["materializer"])
            if not (
                isinstance(materializer_class, type)
                and issubclass(materializer_class, BaseMaterializer)
            ):
                raise MaterializerError(
                    f"The manifest at {self.uri} names {entry['materializer']!r} for element "
                    f"{index}, which is not a materializer."
                )
            try:
                data_type = resolve_source(entry["data_type"]) if entry["data_type"] else object
            except Exception:
                data_type = object
            uri = self.join(str(index))
            values.append(materializer_class(uri, self.artifact_store).load(data_type))
        kind = manifest["kind"]
        if kind == "dict":
            return {_hashable(decode(k)): v for k, v in zip(manifest["keys"], values, strict=True)}
        constructors: dict[str, Callable[[list[Any]], Any]] = {
            "tuple": tuple,
            "set": set,
            "frozenset": frozenset,
        }
        return constructors.get(kind, list)(values)
