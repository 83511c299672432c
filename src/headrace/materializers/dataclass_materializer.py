"""Dataclasses as JSON, rebuilt with pydantic's validation of the dataclass fields."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"


class DataclassMaterializer(BaseMaterializer):
    """Any dataclass whose fields pydantic can serialise."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()

    @classmethod
    def can_handle_type(cls, data_type: type[Any]) -> bool:
        return dataclasses.is_dataclass(data_type)

    def save(self, data: Any) -> None:
        from pydantic import TypeAdapter

        payload = TypeAdapter(type(data)).dump_json(data)
        with self.artifact_store.open(self.join(DATA_FILE), "wb") as handle:
            handle.write(payload)

    def load(self, data_type: type[Any]) -> Any:
        from pydantic import TypeAdapter

        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            return TypeAdapter(data_type).validate_json(handle.read())
