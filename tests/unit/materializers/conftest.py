"""Artifact stores to round-trip values through: a local directory and fsspec ``memory://``.

Every materializer test runs on both, so a materializer that only works with ``os`` calls
(and not through ``self.artifact_store``) fails here. Values are written as files even
when small (``artifacts_as_files``): these tests are about the files; keeping small values
inline in their records is tested in ``tests/unit/artifacts/test_inline.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headrace.artifact_stores.base import ArtifactStore, FsspecArtifactStore, LocalArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import SavedArtifact, materializer_for_value, save_value
from headrace.materializers.base_materializer import BaseMaterializer

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


@pytest.fixture(autouse=True)
def _files_not_inline(artifacts_as_files: None) -> None:
    """Materializer tests read and tamper with the files they wrote."""


@pytest.fixture(params=["local", "memory"])
def artifact_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """A fresh, empty artifact store: a directory under ``tmp_path`` or a ``memory://`` root."""
    if request.param == "local":
        yield LocalArtifactStore(str(tmp_path / "artifacts"))
        return
    store = FsspecArtifactStore(f"memory://headrace-tests-{uuid.uuid4().hex}")
    try:
        yield store
    finally:
        store.rmtree(store.path)


def save_and_load(
    store: ArtifactStore,
    value: Any,
    *,
    name: str | None = None,
    materializer: type[BaseMaterializer] | None = None,
    metadata: bool = True,
) -> tuple[Any, SavedArtifact]:
    """Save ``value`` the way a step output is saved, then load it the way a reader does."""
    uri = store.join(store.path, name or uuid.uuid4().hex)
    materializer_class = materializer_for_value(value, [materializer] if materializer else [])
    saved = save_value(
        value,
        artifact_store=store,
        uri=uri,
        materializer_class=materializer_class,
        collect_metadata=metadata,
    )
    loaded = load_value(
        uri=saved.uri,
        materializer=saved.materializer,
        data_type=saved.data_type,
        python_version_written=saved.python_version,
        artifact_store=store,
        inline=saved.inline,
    )
    return loaded, saved


@pytest.fixture
def roundtrip(artifact_store: ArtifactStore) -> RoundTrip:
    """``roundtrip(value) -> (loaded value, SavedArtifact)`` on the parametrised store."""

    def run(value: Any, **kwargs: Any) -> tuple[Any, SavedArtifact]:
        return save_and_load(artifact_store, value, **kwargs)

    return run
