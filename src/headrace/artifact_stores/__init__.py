"""Artifact stores: where artifact bytes live (a local directory or any fsspec URL)."""

from headrace.artifact_stores.base import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    artifact_store_for,
)

__all__ = [
    "ArtifactStore",
    "FsspecArtifactStore",
    "LocalArtifactStore",
    "artifact_store_for",
]
