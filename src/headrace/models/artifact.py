"""Artifacts (named, versioned outputs) and their immutable versions."""

import base64
import binascii
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from headrace.enums import ArtifactType, VisualizationType
from headrace.metadata.metadata_types import decode_metadata
from headrace.models.base import RequestModel, ResponseModel
from headrace.utils.factories import new_dict, new_list


def _from_base64(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"inline_content must be base64: {exc}") from exc
    return value


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


InlineContent = Annotated[
    bytes | None,
    BeforeValidator(_from_base64),
    PlainSerializer(_to_base64, when_used="json-unless-none"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "byte", "contentEncoding": "base64"},
                {"type": "null"},
            ]
        }
    ),
]
"""An inline artifact's files (``headrace.artifacts.inline`` encoding); base64 in JSON.
The server only stores and returns these bytes, it never decodes or runs them."""


class ArtifactVisualization(BaseModel):
    """A file that shows an artifact version's value, stored in its directory."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uri: str
    type: VisualizationType


class ArtifactVersionRequest(RequestModel):
    """A new artifact version, created when a step completes."""

    id: str
    artifact_name: str
    has_custom_name: bool = False
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    size: int
    python_version: str | None = None
    type: ArtifactType = ArtifactType.DATA
    artifact_store_id: str
    metadata: dict[str, Any] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    version: str | None = None  # explicit name; otherwise the next number
    visualizations: list[ArtifactVisualization] = Field(default_factory=new_list)
    # Type names of ``metadata`` values when it travels as JSON (RestStore to server).
    metadata_types: dict[str, str] = Field(default_factory=new_dict)
    inline_content: InlineContent = None
    """The artifact's files when they are kept in this record instead of the artifact
    store (small values); ``uri`` is then where they would have been."""

    @model_validator(mode="after")
    def _typed_metadata(self) -> Self:
        if self.metadata_types:
            self.metadata = decode_metadata(self.metadata, self.metadata_types)
        return self

    def for_the_wire(self) -> "ArtifactVersionRequest":
        """A copy whose metadata is plain JSON with its type names beside it."""
        if not self.metadata:
            return self
        from headrace.metadata.metadata_types import encode_metadata

        values, types = encode_metadata(self.metadata)
        return self.model_copy(update={"metadata": values, "metadata_types": types})


class ArtifactVersionResponse(ResponseModel):
    """One immutable version of an artifact."""

    artifact_id: str
    name: str
    version: str
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    size: int
    python_version: str | None = None
    type: ArtifactType = ArtifactType.DATA
    artifact_store_id: str
    producer_step_run_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=new_dict)
    metadata_types: dict[str, str] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    visualizations: list[ArtifactVisualization] = Field(default_factory=new_list)
    inline_content: InlineContent = None
    """The artifact's files when they are kept in this record instead of the artifact
    store (small values); ``uri`` is then where they would have been."""

    @property
    def is_inline(self) -> bool:
        """Whether the files are kept in the record (nothing is at ``uri``)."""
        return self.inline_content is not None

    @model_validator(mode="after")
    def _typed_metadata(self) -> Self:
        # The wire carries JSON values and their type names; callers get typed values.
        if self.metadata_types:
            self.metadata = decode_metadata(self.metadata, self.metadata_types)
        return self

    def load(self) -> Any:
        """Read the artifact's value back with the materializer that wrote it."""
        from headrace.utils.entry_points import LOAD_ARTIFACT_VERSION, entry_point

        return entry_point(LOAD_ARTIFACT_VERSION)(self, self.store)

    def _headrace_input_version_id(self, default_name: str) -> str:
        """Passed to a step call, this version becomes the step's input artifact."""
        return self.id

    def read(self) -> Any:
        """Alias of :meth:`load`."""
        return self.load()

    @property
    def run_metadata(self) -> dict[str, Any]:
        """Metadata recorded for this version (the same as ``metadata``)."""
        return self.metadata

    @property
    def model_versions(self) -> list[Any]:
        """Model versions this artifact version is linked to, oldest first."""
        from headrace.models.filters import ModelVersionFilter

        return self.store.list_model_versions(
            ModelVersionFilter(artifact_version_id=self.id, size=10_000, sort_by="asc:created")
        ).items


class ArtifactVersionList(list[ArtifactVersionResponse]):
    """The versions one output produced; ``.load()`` works directly when there is one."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls, handler(list[ArtifactVersionResponse])
        )

    def load(self) -> Any:
        """Load the single artifact version in this list."""
        if len(self) != 1:
            raise ValueError(
                f"This output has {len(self)} artifact versions; pick one, e.g. outputs[name][0]."
            )
        return self[0].load()

    def _headrace_input_version_id(self, default_name: str) -> str:
        """Passed to a step call, the single version becomes the step's input artifact."""
        return self.id

    @property
    def id(self) -> str:
        """Id of the single artifact version in this list."""
        if len(self) != 1:
            raise ValueError(f"This output has {len(self)} artifact versions; pick one.")
        return self[0].id


class ArtifactResponse(ResponseModel):
    """A named artifact; its versions are numbered from 1."""

    name: str
    has_custom_name: bool = False
    latest_version_number: int = 0
    tags: list[str] = Field(default_factory=new_list)

    @property
    def versions(self) -> list[ArtifactVersionResponse]:
        """Every version, oldest first."""
        from headrace.models.filters import ArtifactVersionFilter

        page = self.store.list_artifact_versions(
            ArtifactVersionFilter(artifact_id=self.id, size=10_000, sort_by="asc:created")
        )
        return page.items
