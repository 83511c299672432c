"""``UnmaterializedArtifact``: annotate a step input with it to get the artifact, not its value."""

from __future__ import annotations

from typing import ClassVar

from headrace.models.artifact import ArtifactVersionResponse


class UnmaterializedArtifact(ArtifactVersionResponse):
    """The artifact version behind a step input: ``id``, ``uri``, ``data_type``, metadata."""

    _is_unmaterialized_artifact: ClassVar[bool] = True
