"""The local artifact store: its fast paths give the same answers as the generic ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headrace.artifact_stores.base import ArtifactStore, LocalArtifactStore


def _tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.txt").write_text("top")
    (root / "a" / "one.bin").write_bytes(b"\x00\x01")
    (root / "a" / "b" / "deep.txt").write_text("deep")
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "hidden.txt").write_text("not followed")
    os.symlink(outside, root / "a" / "linked-dir")
    return root


def test_files_below_lists_what_walking_lists(tmp_path: Path) -> None:
    root = str(_tree(tmp_path / "art"))
    store = LocalArtifactStore(str(tmp_path))
    walked = ArtifactStore.files_below(store, root)  # the generic os.walk-based listing
    assert sorted(store.files_below(root)) == sorted(walked)
    assert not any("hidden.txt" in f for f in walked)  # symlinked directories not followed
    assert store.files_below(os.path.join(root, "top.txt")) == [os.path.join(root, "top.txt")]


class _WalkingStore(LocalArtifactStore):
    """The local store with the generic, os.walk-based file listing."""

    files_below = ArtifactStore.files_below


def test_the_fast_listing_gives_the_same_digest(tmp_path: Path) -> None:
    root = str(_tree(tmp_path / "art"))
    fast = LocalArtifactStore(str(tmp_path)).digest(root)
    assert fast == _WalkingStore(str(tmp_path)).digest(root)
    assert fast[1] == len("top") + 2 + len("deep")


def test_writing_below_a_missing_directory_creates_it(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    target = tmp_path / "x" / "y" / "data.json"
    with store.open(str(target), "w") as handle:
        handle.write("1")
    assert target.read_text() == "1"
    with pytest.raises(FileNotFoundError):
        store.open(str(tmp_path / "missing" / "data.json"), "r")  # reading creates nothing
    assert not (tmp_path / "missing").exists()
    store.makedirs(str(tmp_path / "p" / "q"))
    store.makedirs(str(tmp_path / "p" / "q"))  # exists already: fine
    assert (tmp_path / "p" / "q").is_dir()
