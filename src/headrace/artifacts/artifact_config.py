"""``headrace.artifacts.artifact_config.ArtifactConfig``: the same class as
``headrace.ArtifactConfig`` (defined with the other configuration models)."""

from headrace.config.artifact_config import ArtifactConfig

__all__ = ["ArtifactConfig"]
