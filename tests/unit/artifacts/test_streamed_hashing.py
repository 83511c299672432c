"""Each artifact byte hashed once: while it is written, and while it is read on load.

Saving: a materializer that writes only through the store's hashing calls lets the
store record every file's hash, so the artifact is neither listed nor read again; the
recorded hash is the one a listing gives. Loading: small files are hashed first and the
materializer is served exactly the checked bytes; large files of plain-data
materializers (numpy, ``Path``) are hashed as they are read, and the value is handed
out only if the hash matches. Tampered, truncated and extended files are refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import pytest

from artifact_round_trip import load_saved
from headrace.artifact_stores.base import LocalArtifactStore
from headrace.artifact_stores.hashing import SHA256, copy_hashing, hash_bytes
from headrace.artifacts.saving import SavedArtifact, save_value
from headrace.exceptions import ArtifactIntegrityError
from headrace.materializers.base_materializer import (
    BaseMaterializer,
    loads_plain_data,
    writes_through_store,
)
from headrace.materializers.built_in_materializer import (
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
    BytesMaterializer,
)
from headrace.materializers.path_materializer import PathMaterializer

np = pytest.importorskip("numpy")
from headrace.materializers.numpy_materializer import NumpyMaterializer  # noqa: E402

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _always_verify(monkeypatch: pytest.MonkeyPatch, artifacts_as_files: None) -> None:
    # As in a process that did not write the artifact: every load hashes. The hashes of
    # files are the subject here, so small values are written as files too.
    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "always")


def _save(store: LocalArtifactStore, name: str, value: Any, materializer: Any) -> SavedArtifact:
    return save_value(
        value, artifact_store=store, uri=f"{store.path}/{name}", materializer_class=materializer
    )


class _NotDeclared(BuiltInMaterializer):
    """Writes with a plain ``open``: the store cannot vouch for its files."""

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join("data.json"), "w") as handle:
            handle.write(json.dumps(data))
        with open(os.path.join(self.uri, "extra.txt"), "w") as handle:  # past the store
            handle.write("not seen by the store")


class _Holder:
    """A type whose materializer is not declared to write through the store."""

    def __init__(self, value: int) -> None:
        self.value = value


class _HolderMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (_Holder,)

    def save(self, data: Any) -> None:
        os.makedirs(self.uri, exist_ok=True)
        with open(os.path.join(self.uri, "holder.txt"), "w") as handle:
            handle.write(str(data.value))

    def load(self, data_type: type[Any]) -> Any:
        with open(os.path.join(self.uri, "holder.txt")) as handle:
            return _Holder(int(handle.read()))


def _values(tmp_path: Path) -> list[tuple[str, Any, Any]]:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MIB))
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "b.txt").write_text("b")
    return [
        ("int", 42, BuiltInMaterializer),
        ("bytes", b"\x00" * 10, BytesMaterializer),
        ("list", [1, "two", {"three": (3,)}], BuiltInContainerMaterializer),
        ("elementwise", [1, _Holder(7)], BuiltInContainerMaterializer),
        ("small-array", np.arange(12).reshape(3, 4), NumpyMaterializer),
        ("large-array", np.random.default_rng(0).random(MIB // 4), NumpyMaterializer),
        ("file", big, PathMaterializer),
        ("directory", tree, PathMaterializer),
        ("not-declared", 5, _NotDeclared),
    ]


def test_the_hash_recorded_while_writing_is_the_one_a_listing_gives(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    for name, value, materializer in _values(tmp_path):
        saved = _save(store, name, value, materializer)
        assert saved.content_hash == store.digest(saved.uri)[0], name
        assert saved.size == store.digest(saved.uri)[1], name
        load_saved(saved, store)
    assert store._written == {} and store._records == []


def test_a_declared_materializer_saves_without_listing_or_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    listed: list[str] = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: listed.append(path) or real_scandir(path))
    _save(store, "int", 42, BuiltInMaterializer)
    _save(store, "array", np.arange(3 * MIB // 8), NumpyMaterializer)
    assert listed == []
    _save(store, "not-declared", 5, _NotDeclared)
    assert len(listed) == 1  # an undeclared materializer's directory is listed


def test_the_declarations_are_not_inherited_by_an_overriding_subclass() -> None:
    assert writes_through_store(BuiltInMaterializer)
    assert not writes_through_store(_NotDeclared)
    assert not writes_through_store(_HolderMaterializer)
    assert loads_plain_data(NumpyMaterializer) and loads_plain_data(PathMaterializer)

    class Custom(NumpyMaterializer):
        def load(self, data_type: type[Any]) -> Any:
            return None

    assert not loads_plain_data(Custom)
    assert not loads_plain_data(BuiltInMaterializer)


def _flip_last_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-1] ^= 1
    file.write_bytes(bytes(data))


@pytest.mark.parametrize("change", ["flip", "truncate", "extend", "swap"])
def test_a_streamed_array_with_changed_bytes_is_refused(tmp_path: Path, change: str) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    array = np.random.default_rng(1).random(MIB // 2)  # 4 MiB: hashed while read
    saved = _save(store, "array", array, NumpyMaterializer)
    assert (load_saved(saved, store) == array).all()
    file = Path(saved.uri) / "data.npy"
    if change == "flip":
        _flip_last_byte(file)
    elif change == "truncate":
        os.truncate(file, file.stat().st_size - 1000)
    elif change == "extend":
        with open(file, "ab") as handle:
            handle.write(b"more")
    else:
        np.save(file, array + 1)
    with pytest.raises(ArtifactIntegrityError, match="changed after they were written"):
        load_saved(saved, store)


def test_a_streamed_file_copy_with_changed_bytes_is_refused_and_removed(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5 * MIB))
    saved = _save(store, "file", source, PathMaterializer)
    loaded = load_saved(saved, store)
    assert loaded.read_bytes() == source.read_bytes()
    _flip_last_byte(Path(saved.uri) / "content")
    copies = set(Path(tempfile.gettempdir()).glob("headrace-path-*/big.bin"))
    with pytest.raises(ArtifactIntegrityError):
        load_saved(saved, store)
    assert set(Path(tempfile.gettempdir()).glob("headrace-path-*/big.bin")) == copies
    os.truncate(Path(saved.uri) / "content", MIB)
    with pytest.raises(ArtifactIntegrityError):
        load_saved(saved, store)


class _SwapBeforeReading(BuiltInMaterializer):
    """Rewrites its file after the check and before it reads it (a racing writer)."""

    def load(self, data_type: type[Any]) -> Any:
        with open(os.path.join(self.uri, "data.json"), "w") as handle:
            handle.write("666")
        return super().load(data_type)


def test_a_small_file_is_read_from_the_checked_bytes(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = _save(store, "int", 42, _SwapBeforeReading)
    assert load_saved(saved, store) == 42  # not 666: the bytes that were checked
    assert store._verified == {} and store._checks == {}
    with pytest.raises(ArtifactIntegrityError):
        load_saved(saved, store)  # now the file on disk is checked (and refused)


def test_copy_hashing_hashes_what_it_writes(tmp_path: Path) -> None:
    data = os.urandom(20 * MIB + 123)
    (tmp_path / "in").write_bytes(data)
    reader = os.open(tmp_path / "in", os.O_RDONLY)
    writer = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        assert copy_hashing(reader, writer, len(data)) == (hash_bytes(data), len(data))
        os.lseek(reader, 0, os.SEEK_SET)  # again, hashed as records before BLAKE3 were
        os.lseek(writer, 0, os.SEEK_SET)
        assert copy_hashing(reader, writer, len(data), SHA256) == (
            hash_bytes(data, SHA256),
            len(data),
        )
    finally:
        os.close(reader)
        os.close(writer)
    assert (tmp_path / "out").read_bytes() == data


_MEMORY_CHILD = """
import os, sys
from pathlib import Path
from headrace.artifact_stores.base import LocalArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import save_value
from headrace.materializers.path_materializer import PathMaterializer

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024

root = Path(sys.argv[1])
source = root / "source.bin"
with open(source, "wb") as handle:
    for _ in range(int(sys.argv[2])):
        handle.write(os.urandom(1 << 20))
store = LocalArtifactStore(str(root / "store"))
before = rss("VmRSS:")
saved = save_value(source, artifact_store=store, uri=str(root / "store" / "file"),
                   materializer_class=PathMaterializer)
loaded = load_value(uri=saved.uri, materializer=saved.materializer, data_type=saved.data_type,
                    python_version_written=saved.python_version, artifact_store=store,
                    content_hash=saved.content_hash)
assert loaded.stat().st_size == source.stat().st_size
print(rss("VmHWM:") - before)
"""


def test_a_file_artifact_round_trip_uses_bounded_memory(tmp_path: Path) -> None:
    size_mib = 192
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(tmp_path), str(size_mib)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HEADRACE_VERIFY_ARTIFACTS": "always"},
    )
    growth = int(done.stdout.strip().splitlines()[-1])
    assert growth < 48, f"peak RSS grew {growth} MiB for a {size_mib} MiB file artifact"
