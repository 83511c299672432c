"""``pathlib.Path`` outputs: the file or directory is copied in, and loads as a fresh copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import SavedArtifact
from headrace.exceptions import MaterializerError

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "dataset"
    (root / "images" / "nested").mkdir(parents=True)
    (root / "labels.csv").write_text("id,label\n1,cat\n")
    (root / "images" / "a.txt").write_text("A")
    (root / "images" / "nested" / "b.txt").write_text("B ✓")
    return root


def test_file_round_trips_as_an_independent_copy(roundtrip: RoundTrip, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"\x00weights\xff")

    loaded, saved = roundtrip(source)

    assert isinstance(loaded, Path) and loaded.name == "model.bin"
    assert loaded.read_bytes() == b"\x00weights\xff"
    assert loaded != source
    assert saved.materializer.endswith("PathMaterializer")

    source.write_bytes(b"changed after saving")
    loaded.write_bytes(b"changed by the reader")
    assert roundtrip(source)[0].read_bytes() == b"changed after saving"


def test_loading_twice_gives_two_copies(
    roundtrip: RoundTrip, artifact_store: ArtifactStore, data_dir: Path
) -> None:
    first, saved = roundtrip(data_dir)
    (first / "labels.csv").write_text("tampered")
    (first / "images" / "a.txt").unlink()

    second = load_value(
        uri=saved.uri,
        materializer=saved.materializer,
        data_type=saved.data_type,
        python_version_written=saved.python_version,
        artifact_store=artifact_store,
    )

    assert _tree(second) == {
        "labels.csv": "id,label\n1,cat\n",
        "images/a.txt": "A",
        "images/nested/b.txt": "B ✓",
    }


def test_directory_round_trips_with_its_tree(roundtrip: RoundTrip, data_dir: Path) -> None:
    loaded, saved = roundtrip(data_dir)

    assert loaded.is_dir() and loaded.name == "dataset"
    assert _tree(loaded) == _tree(data_dir)
    assert saved.metadata["files"] == 3


def test_empty_directory_round_trips(roundtrip: RoundTrip, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    loaded, _ = roundtrip(empty)

    assert loaded.is_dir() and list(loaded.iterdir()) == []


def test_same_content_same_hash_different_content_different_hash(
    roundtrip: RoundTrip, tmp_path: Path, data_dir: Path
) -> None:
    copy = tmp_path / "elsewhere" / "dataset"
    copy.parent.mkdir()
    shutil.copytree(data_dir, copy)

    first = roundtrip(data_dir)[1].content_hash
    assert roundtrip(copy)[1].content_hash == first
    (copy / "images" / "a.txt").write_text("a")
    assert roundtrip(copy)[1].content_hash != first


def test_missing_path_fails_clearly(roundtrip: RoundTrip, tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match="does not exist"):
        roundtrip(tmp_path / "nope.txt")
