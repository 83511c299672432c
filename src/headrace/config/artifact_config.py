"""``ArtifactConfig``: how one step output is stored, written in its return annotation.

``Annotated[T, ArtifactConfig(name="features", version="v2", tags=[...], run_metadata={...})]``
names the artifact and sets the version name, tags, metadata and artifact type of every
version the output makes. The older boolean spellings ``is_model_artifact`` and
``is_deployment_artifact`` are accepted and become ``artifact_type``.
"""

from typing import Any, Self

from pydantic import Field, model_validator

from headrace.config.base import ConfigModel
from headrace.enums import ArtifactType


class ArtifactConfig(ConfigModel):
    """Name, version, tags, metadata and type of the artifact a step output becomes."""

    name: str | None = Field(default=None, min_length=1)
    version: str | int | None = None
    tags: list[str] | None = None
    run_metadata: dict[str, Any] | None = None
    artifact_type: ArtifactType | None = None
    is_model_artifact: bool = False
    is_deployment_artifact: bool = False

    @model_validator(mode="after")
    def _type_from_flags(self) -> Self:
        if self.is_model_artifact and self.is_deployment_artifact:
            raise ValueError("is_model_artifact and is_deployment_artifact exclude each other")
        flagged = (
            ArtifactType.MODEL
            if self.is_model_artifact
            else ArtifactType.SERVICE
            if self.is_deployment_artifact
            else None
        )
        if flagged is not None:
            if self.artifact_type not in (None, flagged):
                raise ValueError(
                    f"artifact_type={self.artifact_type.value!r} contradicts the "
                    f"is_*_artifact flag (which means {flagged.value!r})"
                )
            # object.__setattr__: validate_assignment would run this validator again.
            object.__setattr__(self, "artifact_type", flagged)
        return self
