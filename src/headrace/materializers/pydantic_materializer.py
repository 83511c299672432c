"""Pydantic models as JSON, validated back into the same model class."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"


class PydanticMaterializer(BaseMaterializer):
    """Any ``pydantic.BaseModel`` subclass."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (BaseModel,)

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join(DATA_FILE), "w") as handle:
            handle.write(data.model_dump_json())

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(DATA_FILE), "r") as handle:
            return data_type.model_validate_json(handle.read())
