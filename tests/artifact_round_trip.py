"""Load back what ``save_value`` saved, as a step's input would be loaded: the one
place tests spell out the recorded fields a load takes (uri, materializer, type,
Python version, the content hash it checks, and the files of an inline artifact)."""

from __future__ import annotations

from typing import Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import SavedArtifact


def load_saved(saved: SavedArtifact, store: ArtifactStore) -> Any:
    """The value ``saved`` records, read from ``store`` and checked against its hash."""
    return load_value(
        uri=saved.uri,
        materializer=saved.materializer,
        data_type=saved.data_type,
        python_version_written=saved.python_version,
        artifact_store=store,
        content_hash=saved.content_hash,
        inline=saved.inline,
    )
