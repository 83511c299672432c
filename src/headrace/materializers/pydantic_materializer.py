"""Pydantic models as JSON, validated back into the same model class.

JSON keeps the stored form readable and independent of the Python version. Nested models
round-trip because validation rebuilds them from the field annotations; fields typed
``Any`` come back as whatever JSON gives (a tuple as a list).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.json"


class PydanticMaterializer(BaseMaterializer):
    """Any ``pydantic.BaseModel`` subclass."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (BaseModel,)
    WRITES_THROUGH_STORE: ClassVar[bool] = True

    def save(self, data: Any) -> None:
        try:
            payload = data.model_dump_json()
        except Exception as exc:  # a field pydantic cannot serialise (arbitrary types)
            raise MaterializerError(
                f"Pydantic model {type(data).__qualname__} cannot be written as JSON: {exc}"
            ) from exc
        self.artifact_store.write_bytes(self.join(DATA_FILE), payload.encode())

    def load(self, data_type: type[Any]) -> Any:
        if not (isinstance(data_type, type) and issubclass(data_type, BaseModel)):
            raise MaterializerError(
                f"The pydantic model at {self.uri} cannot be loaded: its class is not "
                f"available (recorded type: {data_type!r})."
            )
        with self.artifact_store.open(self.join(DATA_FILE), "r") as handle:
            return data_type.model_validate_json(handle.read())
