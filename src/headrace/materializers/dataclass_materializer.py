"""Dataclasses as JSON, rebuilt with pydantic's validation of the dataclass fields.

Only dataclasses whose every field pydantic can describe are handled here; for the others
(a field holding an arbitrary object) ``can_handle_type`` says no and the value falls back
to cloudpickle with a warning, instead of failing the step at save time.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"


_ADAPTERS: dict[type, Any] = {}
_UNSUPPORTED: set[type] = set()


def _adapter(data_type: type) -> Any:
    """The pydantic ``TypeAdapter`` for a dataclass (building one is costly; reuse it).

    Raises:
        MaterializerError: pydantic cannot describe some field (remembered, so the
            registry's fallback check stays cheap for such types).
    """
    adapter = _ADAPTERS.get(data_type)
    if adapter is not None:
        return adapter
    if data_type in _UNSUPPORTED:
        raise MaterializerError(f"pydantic cannot describe the fields of {data_type.__qualname__}")
    from pydantic import TypeAdapter

    try:
        adapter = _ADAPTERS[data_type] = TypeAdapter(data_type)
    except Exception as exc:
        _UNSUPPORTED.add(data_type)
        raise MaterializerError(
            f"pydantic cannot describe the fields of {data_type.__qualname__}: {exc}"
        ) from exc
    return adapter


class DataclassMaterializer(BaseMaterializer):
    """Any dataclass whose fields pydantic can serialise."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    @classmethod
    def can_handle_type(cls, data_type: type[Any]) -> bool:
        if not (isinstance(data_type, type) and dataclasses.is_dataclass(data_type)):
            return False
        try:
            _adapter(data_type)
        except MaterializerError:
            return False
        return True

    def save(self, data: Any) -> None:
        try:
            payload = _adapter(type(data)).dump_json(data)
        except Exception as exc:
            raise MaterializerError(
                f"Dataclass {type(data).__qualname__} cannot be written as JSON: {exc}"
            ) from exc
        self.artifact_store.write_bytes(self.join(DATA_FILE), payload)

    def load(self, data_type: type[Any]) -> Any:
        if not (isinstance(data_type, type) and dataclasses.is_dataclass(data_type)):
            raise MaterializerError(
                f"The dataclass at {self.uri} cannot be loaded: its class is not available "
                f"(recorded type: {data_type!r})."
            )
        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            return _adapter(data_type).validate_json(handle.read())
