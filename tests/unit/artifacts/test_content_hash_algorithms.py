"""Content hashes: BLAKE3 for new artifacts, SHA-256 records written before still load.

A version recorded before BLAKE3 carries a bare 64-digit SHA-256 hex digest over
``name NUL sha256(bytes) LF`` lines. The stores here are written the old way (the bytes
as the materializers write them, and that SHA-256 record computed independently with
``hashlib``), then loaded and checked by the current code: small files, an array hashed
while it is read, a file hashed while it is copied out, and changed bytes refused.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import blake3
import pytest

from artifact_round_trip import load_saved
from headrace.artifact_stores.base import LocalArtifactStore, bytes_digest, files_digest
from headrace.artifact_stores.hashing import (
    BLAKE3,
    SHA256,
    algorithm_of,
    content_hash,
    hash_local_file,
)
from headrace.artifacts.integrity import artifact_is_whole, verify_artifact
from headrace.artifacts.saving import SavedArtifact, save_value
from headrace.exceptions import ArtifactIntegrityError
from headrace.materializers.built_in_materializer import (
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
)
from headrace.materializers.path_materializer import PathMaterializer

np = pytest.importorskip("numpy")
from headrace.materializers.numpy_materializer import NumpyMaterializer  # noqa: E402

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _files_not_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Records before BLAKE3 kept every artifact as files; inline records are tested below.
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")


def _old_sha256_of(files: dict[str, bytes]) -> str:
    outer = hashlib.sha256()
    for name in sorted(files):
        outer.update(f"{name}\0{hashlib.sha256(files[name]).hexdigest()}\n".encode())
    return outer.hexdigest()


def _old_sha256_record(directory: Path) -> str:
    """The content hash headrace recorded before BLAKE3, computed independently."""
    outer = hashlib.sha256()
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = file.relative_to(directory).as_posix()
        outer.update(f"{relative}\0{hashlib.sha256(file.read_bytes()).hexdigest()}\n".encode())
    return outer.hexdigest()


def _blake3_record(directory: Path) -> str:
    outer = blake3.blake3()
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = file.relative_to(directory).as_posix()
        outer.update(f"{relative}\0{blake3.blake3(file.read_bytes()).hexdigest()}\n".encode())
    return "blake3:" + outer.hexdigest(length=28)


def _values(tmp_path: Path) -> list[tuple[str, Any, Any]]:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MIB + 17))
    return [
        ("int", 42, BuiltInMaterializer),
        ("array", np.random.default_rng(3).random(MIB // 2), NumpyMaterializer),  # 4 MiB
        ("file", big, PathMaterializer),
    ]


def _as_old_record(saved: SavedArtifact) -> SavedArtifact:
    old = _old_sha256_record(Path(saved.uri))
    fields = {name: getattr(saved, name) for name in SavedArtifact.__slots__}
    return SavedArtifact(**{**fields, "content_hash": old})


def _same(loaded: Any, value: Any) -> bool:
    if isinstance(value, Path):
        return bool(loaded.read_bytes() == value.read_bytes())
    if isinstance(value, np.ndarray):
        return bool(np.array_equal(loaded, value))
    return bool(loaded == value)


def test_new_content_hashes_are_prefixed_blake3(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    for name, value, materializer in _values(tmp_path):
        saved = save_value(
            value, artifact_store=store, uri=f"{store.path}/{name}", materializer_class=materializer
        )
        assert saved.content_hash == _blake3_record(Path(saved.uri)), name
        assert len(saved.content_hash) == 63 <= 64  # the database column's width
        assert algorithm_of(saved.content_hash) == BLAKE3
        assert LocalArtifactStore(str(tmp_path / "store")).digest(saved.uri)[0] == (
            saved.content_hash
        )


@pytest.mark.parametrize("verify", ["auto", "always"])
def test_records_written_with_sha256_still_load_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify: str
) -> None:
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", verify)
    writer = LocalArtifactStore(str(tmp_path / "store"))
    for name, value, materializer in _values(tmp_path):
        saved = _as_old_record(
            save_value(
                value,
                artifact_store=writer,
                uri=f"{writer.path}/{name}",
                materializer_class=materializer,
            )
        )
        assert algorithm_of(saved.content_hash) == SHA256
        for store in (writer, LocalArtifactStore(str(tmp_path / "store"))):  # and a new process
            assert _same(load_saved(saved, store), value), name
            verify_artifact(store, saved.uri, saved.content_hash)
            assert store.digest(saved.uri, SHA256)[0] == saved.content_hash


@pytest.mark.parametrize("name", ["int", "array", "file"])
def test_a_changed_sha256_record_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "always")
    store = LocalArtifactStore(str(tmp_path / "store"))
    value, materializer = {n: (v, m) for n, v, m in _values(tmp_path)}[name]
    saved = _as_old_record(
        save_value(
            value, artifact_store=store, uri=f"{store.path}/{name}", materializer_class=materializer
        )
    )
    file = max(
        (p for p in Path(saved.uri).rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    data = bytearray(file.read_bytes())
    data[-1] ^= 1
    file.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="changed after they were written"):
        load_saved(saved, store)
    assert not artifact_is_whole(store, saved.uri, saved.content_hash)


def test_an_unknown_algorithm_is_named(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_value(
        1, artifact_store=store, uri=f"{store.path}/one", materializer_class=BuiltInMaterializer
    )
    with pytest.raises(ArtifactIntegrityError, match="sha3:.*does not know.*upgrade headrace"):
        verify_artifact(store, saved.uri, "sha3:" + "0" * 56)


@pytest.mark.parametrize("verify", ["auto", "always"])
def test_inline_records_are_checked_with_the_algorithm_they_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify: str
) -> None:
    from headrace.artifacts.inline import decode_files

    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "16384")
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", verify)
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_value(
        [1, 2],
        artifact_store=store,
        uri=f"{store.path}/l",
        materializer_class=BuiltInContainerMaterializer,
    )
    assert saved.inline is not None and saved.content_hash.startswith("blake3:")
    assert load_saved(saved, store) == [1, 2]
    files = decode_files(saved.inline, "l")
    fields = {name: getattr(saved, name) for name in SavedArtifact.__slots__}
    old = SavedArtifact(**{**fields, "content_hash": _old_sha256_of(files)})
    assert load_saved(old, store) == [1, 2]  # an inline record written before BLAKE3
    garbled = SavedArtifact(**{**fields, "content_hash": "0" * 64})
    with pytest.raises(ArtifactIntegrityError, match="kept inline"):
        load_saved(garbled, store)


def test_in_memory_digests_equal_the_stored_files(tmp_path: Path) -> None:
    files = {"data.json": b"[1, 2]", "sub/more.bin": os.urandom(1000)}
    for relative, data in files.items():
        (tmp_path / "a" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "a" / relative).write_bytes(data)
    store = LocalArtifactStore(str(tmp_path))
    assert files_digest(files) == store.digest(str(tmp_path / "a"))
    assert files_digest(files)[0] == content_hash(
        (name, bytes_digest(data)[0]) for name, data in files.items()
    )
    assert hash_local_file(str(tmp_path / "a" / "sub" / "more.bin")) == bytes_digest(
        files["sub/more.bin"]
    )
