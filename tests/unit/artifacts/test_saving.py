"""Saving is atomic (temporary path, then rename) and hashes content, not location."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from headrace.artifact_stores.base import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    artifact_store_for,
)
from headrace.artifacts.saving import save_value
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.materializers.built_in_materializer import BuiltInContainerMaterializer


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield LocalArtifactStore(str(tmp_path / "artifacts"))
        return
    memory = FsspecArtifactStore(f"memory://saving-{uuid.uuid4().hex}")
    yield memory
    memory.rmtree(memory.path)


class HalfWriter(BaseMaterializer):
    """Writes one file, then fails (or is interrupted) before finishing."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    SKIP_REGISTRATION: ClassVar[bool] = True
    error: ClassVar[type[BaseException]] = OSError

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join("part-1"), "w") as handle:
            handle.write("half")
        raise self.error("disk full")

    def load(self, data_type: type[Any]) -> Any:
        raise AssertionError("never stored")


class InterruptedWriter(HalfWriter):
    error: ClassVar[type[BaseException]] = KeyboardInterrupt


class BadMetadata(BuiltInContainerMaterializer):
    SKIP_REGISTRATION: ClassVar[bool] = True

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        raise RuntimeError("metadata bug")


def _all_files(store: ArtifactStore) -> list[str]:
    if not store.exists(store.path):
        return []
    return [name for _dir, _dirs, names in store.walk(store.path) for name in names]


@pytest.mark.parametrize("writer", [HalfWriter, InterruptedWriter], ids=["error", "interrupt"])
def test_failed_save_leaves_nothing_behind(store: ArtifactStore, writer: type) -> None:
    uri = store.join(store.path, "run", "step", "output")

    with pytest.raises((OSError, KeyboardInterrupt)):
        save_value([1], artifact_store=store, uri=uri, materializer_class=writer)

    assert not store.exists(uri)
    assert _all_files(store) == []


def test_save_writes_to_a_temporary_path_then_renames(store: ArtifactStore) -> None:
    seen: list[str] = []

    class Spy(BuiltInContainerMaterializer):
        SKIP_REGISTRATION: ClassVar[bool] = True

        def save(self, data: Any) -> None:
            seen.append(self.uri)
            super().save(data)

    uri = store.join(store.path, "out")
    saved = save_value([1, 2], artifact_store=store, uri=uri, materializer_class=Spy)

    assert seen[0] != uri and ".tmp-" in seen[0]
    assert saved.uri == uri and store.exists(uri) and not store.exists(seen[0])


def test_hash_depends_on_content_not_location(store: ArtifactStore) -> None:
    def save(value: Any, name: str) -> str:
        uri = store.join(store.path, name)
        return save_value(
            value, artifact_store=store, uri=uri, materializer_class=BuiltInContainerMaterializer
        ).content_hash

    assert save([1, 2], "a") == save([1, 2], "deeper/b")
    assert save([1, 2], "c") != save([2, 1], "d")


def test_same_value_hashes_equal_on_both_kinds_of_store(tmp_path: Path) -> None:
    local = LocalArtifactStore(str(tmp_path / "x"))
    memory = FsspecArtifactStore(f"memory://saving-{uuid.uuid4().hex}")

    hashes = {
        s.__class__.__name__: save_value(
            {"k": [1, (2, 3)]},
            artifact_store=s,
            uri=s.join(s.path, "v"),
            materializer_class=BuiltInContainerMaterializer,
        ).content_hash
        for s in (local, memory)
    }

    assert hashes["LocalArtifactStore"] == hashes["FsspecArtifactStore"]


def test_failing_metadata_extraction_only_warns(
    store: ArtifactStore, caplog: pytest.LogCaptureFixture
) -> None:
    uri = store.join(store.path, "m")

    with caplog.at_level(logging.WARNING, logger="headrace"):
        saved = save_value([1], artifact_store=store, uri=uri, materializer_class=BadMetadata)

    assert saved.metadata == {"storage_size": saved.size}
    assert "metadata bug" in caplog.text


def test_artifact_store_for_picks_the_implementation(tmp_path: Path) -> None:
    assert isinstance(artifact_store_for(str(tmp_path)), LocalArtifactStore)
    assert isinstance(artifact_store_for(f"file://{tmp_path}"), LocalArtifactStore)
    assert artifact_store_for(f"file://{tmp_path}").path == str(tmp_path)
    memory = artifact_store_for("memory://some/root/")
    assert isinstance(memory, FsspecArtifactStore) and memory.path == "memory://some/root"
    assert artifact_store_for("memory://").path == "memory://"
    assert artifact_store_for(str(tmp_path)) is artifact_store_for(str(tmp_path))
