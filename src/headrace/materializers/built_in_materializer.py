"""Built-in types as JSON: numbers, strings, booleans, ``None``, and containers of them.

Containers (list, tuple, dict, set, frozenset) are written as one JSON document when every
element is built-in; tuples, sets, bytes and non-string dict keys are tagged so they come
back as they were. A container that holds other objects is written element by element,
each with its own materializer, so nothing is pickled just because it sits in a list.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"
BYTES_FILE = "data.bin"
MANIFEST_FILE = "manifest.json"
TAG = "__headrace__"

_SCALARS = (bool, int, float, str, type(None))


class _NotBuiltIn(Exception):
    pass


def encode(value: Any) -> Any:
    """Tagged JSON form of a built-in value; raises ``_NotBuiltIn`` for anything else."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        kind = "frozenset" if isinstance(value, frozenset) else "set"
        return {TAG: kind, "items": [encode(v) for v in value]}
    if isinstance(value, bytes):
        return {TAG: "bytes", "b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}
    raise _NotBuiltIn(type(value).__name__)


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


class BuiltInMaterializer(BaseMaterializer):
    """``bool``, ``int``, ``float``, ``str`` and ``None`` as JSON."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (bool, int, float, str, type(None))

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join(DATA_FILE), "w") as handle:
            handle.write(json.dumps(data))

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(DATA_FILE), "r") as handle:
            value = json.loads(handle.read())
        if data_type in (int, float, str, bool) and value is not None:
            return data_type(value)
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            return {"length": len(data)}
        return {}


class BytesMaterializer(BaseMaterializer):
    """``bytes`` as a raw file."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (bytes,)

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join(BYTES_FILE), "wb") as handle:
            handle.write(data)

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(BYTES_FILE), "rb") as handle:
            return handle.read()


class BuiltInContainerMaterializer(BaseMaterializer):
    """``list``, ``tuple``, ``dict``, ``set`` and ``frozenset``."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (list, tuple, dict, set, frozenset)

    def save(self, data: Any) -> None:
        try:
            document = encode(data)
        except _NotBuiltIn:
            self._save_elementwise(data)
            return
        with self.artifact_store.open(self.join(DATA_FILE), "w") as handle:
            json.dump(document, handle)

    def load(self, data_type: type[Any]) -> Any:
        if self.artifact_store.exists(self.join(MANIFEST_FILE)):
            return self._load_elementwise()
        with self.artifact_store.open(self.join(DATA_FILE), "r") as handle:
            value = decode(json.load(handle))
        if isinstance(data_type, type) and not isinstance(value, data_type):
            try:
                return data_type(value)
            except Exception:
                return value
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"length": len(data)}

    # -- element by element -------------------------------------------------------------
    def _save_elementwise(self, data: Any) -> None:
        from headrace.config.source import source_of, type_source
        from headrace.materializers.registry import materializer_registry

        if isinstance(data, dict):
            keys = list(data)
            values = list(data.values())
            try:
                encoded_keys = [encode(k) for k in keys]
            except _NotBuiltIn as exc:
                raise MaterializerError(
                    f"Dict keys must be built-in values to be stored, got {exc}."
                ) from exc
        else:
            values = list(data)
            encoded_keys = []
        entries = []
        for index, value in enumerate(values):
            materializer_class = materializer_registry.default_for(type(value))
            materializer_class(self.join(str(index)), self.artifact_store).save(value)
            entries.append(
                {
                    "materializer": source_of(materializer_class),
                    "data_type": type_source(type(value)),
                }
            )
        manifest = {"kind": type(data).__name__, "keys": encoded_keys, "items": entries}
        with self.artifact_store.open(self.join(MANIFEST_FILE), "w") as handle:
            json.dump(manifest, handle)

    def _load_elementwise(self) -> Any:
        from headrace.config.source import load_source

        with self.artifact_store.open(self.join(MANIFEST_FILE), "r") as handle:
            manifest = json.load(handle)
        values = []
        for index, entry in enumerate(manifest["items"]):
            materializer_class = load_source(entry["materializer"])
            data_type = load_source(entry["data_type"]) if entry["data_type"] else object
            values.append(
                materializer_class(self.join(str(index)), self.artifact_store).load(data_type)
            )
        kind = manifest["kind"]
        if kind == "dict":
            return {_hashable(decode(k)): v for k, v in zip(manifest["keys"], values, strict=True)}
        constructor = {"tuple": tuple, "set": set, "frozenset": frozenset}.get(kind, list)
        return constructor(values)
