"""Checking an artifact's recorded hash on load, and when a re-read can be skipped.

A local store remembers the digest of a large artifact it hashed (on write or on a first
load) with each file's device, inode, size, modification and change times; while none of
them changed the files are not read again. Any write changes the change time, which
nothing but the system clock can set back, so altered bytes are still caught.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from artifact_round_trip import load_saved
from headrace.artifact_stores.base import TRUST_UNCHANGED_FROM, LocalArtifactStore
from headrace.artifacts.integrity import verify_artifact
from headrace.artifacts.saving import SavedArtifact, save_value
from headrace.exceptions import ArtifactError, ArtifactIntegrityError
from headrace.materializers.numpy_materializer import DATA_FILE, NumpyMaterializer

np = pytest.importorskip("numpy")


def _save(store: LocalArtifactStore, root: Path, array: object) -> SavedArtifact:
    return save_value(
        array, artifact_store=store, uri=str(root / "array"), materializer_class=NumpyMaterializer
    )


def _alter_in_place(file: Path) -> None:
    """Flip one byte, keeping the size and putting the modification time back.

    After one tick of the filesystem's clock (a few milliseconds): a same-size rewrite
    within the tick of the write is the documented gap ``always`` closes."""
    time.sleep(0.05)
    status = file.stat()
    with open(file, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 0xFF]))
    os.utime(file, ns=(status.st_atime_ns, status.st_mtime_ns))


def _large() -> object:
    return np.arange(TRUST_UNCHANGED_FROM // 8 + 1000, dtype=np.float64)


def test_an_unchanged_large_artifact_is_not_read_again(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, _large())
    # The digest taken while writing was remembered under the final URI after the rename.
    assert store.unchanged_digest(saved.uri) == (saved.content_hash, saved.size)
    assert LocalArtifactStore(str(tmp_path)).digest(saved.uri)[0] == saved.content_hash
    assert np.array_equal(load_saved(saved, store), _large())


def test_bytes_altered_in_place_are_caught_whatever_the_modification_time(
    tmp_path: Path,
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, _large())
    _alter_in_place(Path(saved.uri) / DATA_FILE)
    assert store.unchanged_digest(saved.uri) is None  # the change time moved
    with pytest.raises(ArtifactIntegrityError, match="changed after they were written"):
        load_saved(saved, store)


def test_an_added_or_removed_file_is_not_trusted(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, _large())
    (Path(saved.uri) / "extra.bin").write_bytes(b"x")
    assert store.unchanged_digest(saved.uri) is None
    with pytest.raises(ArtifactIntegrityError):
        load_saved(saved, store)


def test_small_artifacts_are_always_hashed(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, np.arange(10))
    assert store.unchanged_digest(saved.uri) is None


def test_verify_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, _large())
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "always")
    verify_artifact(store, saved.uri, saved.content_hash)  # hashed again, and whole
    _alter_in_place(Path(saved.uri) / DATA_FILE)
    with pytest.raises(ArtifactIntegrityError):
        verify_artifact(store, saved.uri, saved.content_hash)
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "never")
    verify_artifact(store, saved.uri, saved.content_hash)  # presence only: passes
    with pytest.raises(ArtifactError, match="missing"):
        verify_artifact(store, str(tmp_path / "gone"), saved.content_hash)
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "sometimes")
    with pytest.raises(ArtifactError, match="HEADRACE_VERIFY_ARTIFACTS='sometimes'"):
        verify_artifact(store, saved.uri, saved.content_hash)


@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_large_arrays_are_written_as_np_save_writes_them(tmp_path: Path, order: str) -> None:
    import io

    base = np.arange(2 * TRUST_UNCHANGED_FROM // 8, dtype=np.float64).reshape(-1, 64)
    array = {"C": base, "F": np.asfortranarray(base), "strided": base[::2]}[order]
    store = LocalArtifactStore(str(tmp_path))
    saved = _save(store, tmp_path, array)
    expected = io.BytesIO()
    np.save(expected, array, allow_pickle=False)
    assert (Path(saved.uri) / DATA_FILE).read_bytes() == expected.getvalue()
    assert LocalArtifactStore(str(tmp_path)).digest(saved.uri)[0] == saved.content_hash
    assert np.array_equal(load_saved(saved, LocalArtifactStore(str(tmp_path))), array)
