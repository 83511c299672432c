"""``headrace.io.fileio`` on local paths, ``file://`` URLs and ``memory://`` URLs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from headrace.artifact_stores.base import FsspecArtifactStore, LocalArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import save_value
from headrace.io import fileio
from headrace.materializers.base_materializer import BaseMaterializer


@pytest.fixture(params=["local", "file-url", "memory"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty directory, named the way each kind of caller names it."""
    if request.param == "local":
        yield str(tmp_path / "root")
    elif request.param == "file-url":
        yield f"file://{tmp_path / 'root'}"
    else:
        url = f"memory://fileio-{uuid.uuid4().hex}"
        try:
            yield url
        finally:
            if fileio.exists(url):
                fileio.rmtree(url)


def _join(root: str, *names: str) -> str:
    return "/".join([root.rstrip("/"), *names])


def test_write_read_exists_isdir(root: str) -> None:
    path = _join(root, "sub", "dir", "note.txt")

    with fileio.open(path, "w") as handle:  # parents are created
        handle.write("héllo ✓")

    assert fileio.exists(path) and not fileio.isdir(path)
    assert fileio.isdir(_join(root, "sub", "dir"))
    with fileio.open(path) as handle:
        assert handle.read() == "héllo ✓"
    with fileio.open(path, "rb") as handle:
        assert handle.read() == "héllo ✓".encode()
    assert fileio.size(path) == len("héllo ✓".encode())
    assert not fileio.exists(_join(root, "nope"))


def test_makedirs_listdir_remove_rmtree(root: str) -> None:
    fileio.makedirs(_join(root, "a", "b"))
    fileio.makedirs(_join(root, "a", "b"))  # again: no error
    for name in ["z.txt", "y.txt"]:
        with fileio.open(_join(root, "a", name), "wb") as handle:
            handle.write(b"x")

    assert fileio.listdir(_join(root, "a")) == ["b", "y.txt", "z.txt"]

    fileio.remove(_join(root, "a", "z.txt"))
    assert fileio.listdir(_join(root, "a")) == ["b", "y.txt"]

    fileio.rmtree(_join(root, "a"))
    assert not fileio.exists(_join(root, "a"))


def test_missing_paths_raise_file_not_found(root: str) -> None:
    with pytest.raises(FileNotFoundError):
        fileio.remove(_join(root, "missing.txt"))
    with pytest.raises(FileNotFoundError):
        fileio.rmtree(_join(root, "missing"))
    with pytest.raises(FileNotFoundError):
        fileio.listdir(_join(root, "missing"))
    with pytest.raises(FileNotFoundError):
        fileio.copy(_join(root, "missing"), _join(root, "to"))


def test_copy_refuses_to_overwrite_unless_asked(root: str) -> None:
    src, dst = _join(root, "src.txt"), _join(root, "dst.txt")
    for path, text in [(src, "new"), (dst, "old")]:
        with fileio.open(path, "w") as handle:
            handle.write(text)

    with pytest.raises(FileExistsError, match="overwrite=True"):
        fileio.copy(src, dst)
    fileio.copy(src, dst, overwrite=True)

    with fileio.open(dst) as handle:
        assert handle.read() == "new"
    assert fileio.exists(src)


def test_copy_and_rename_directories(root: str) -> None:
    with fileio.open(_join(root, "tree", "inner", "f.txt"), "w") as handle:
        handle.write("f")

    fileio.copy(_join(root, "tree"), _join(root, "copied"))
    fileio.rename(_join(root, "tree"), _join(root, "moved"))

    for top in ["copied", "moved"]:
        with fileio.open(_join(root, top, "inner", "f.txt")) as handle:
            assert handle.read() == "f"
    assert not fileio.exists(_join(root, "tree"))


def test_rename_refuses_to_overwrite_unless_asked(root: str) -> None:
    src, dst = _join(root, "a.txt"), _join(root, "b.txt")
    for path in (src, dst):
        with fileio.open(path, "w") as handle:
            handle.write(path[-5:])

    with pytest.raises(FileExistsError):
        fileio.rename(src, dst)
    fileio.rename(src, dst, overwrite=True)

    assert not fileio.exists(src)
    with fileio.open(dst) as handle:
        assert handle.read() == "a.txt"


def test_glob(root: str) -> None:
    for name in ["a.csv", "b.csv", "c.txt", "deep/d.csv"]:
        with fileio.open(_join(root, name), "w") as handle:
            handle.write(name)

    found = fileio.glob(_join(root, "*.csv"))
    deep = fileio.glob(_join(root, "**", "*.csv"))

    assert [p.rsplit("/", 1)[-1] for p in found] == ["a.csv", "b.csv"]
    assert "d.csv" in [p.rsplit("/", 1)[-1] for p in deep]
    if root.startswith("memory://"):
        assert all(p.startswith("memory://") for p in found)  # usable with fileio again
    for path in found:
        assert fileio.exists(path)


def test_walk(root: str) -> None:
    for name in ["x/1.txt", "x/y/2.txt"]:
        with fileio.open(_join(root, name), "w") as handle:
            handle.write(name)

    files = sorted(name for _dir, _dirs, names in fileio.walk(_join(root, "x")) for name in names)

    assert files == ["1.txt", "2.txt"]


def test_copy_across_filesystems(tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "data.bin").write_bytes(b"\x00\x01")
    remote = f"memory://fileio-{uuid.uuid4().hex}"

    fileio.copy(str(local), f"{remote}/tree")
    fileio.copy(f"{remote}/tree/sub/data.bin", str(tmp_path / "back.bin"))
    fileio.rename(f"{remote}/tree", str(tmp_path / "moved"))

    assert (tmp_path / "back.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "moved" / "sub" / "data.bin").read_bytes() == b"\x00\x01"
    assert not fileio.exists(f"{remote}/tree")


def test_local_paths_do_not_import_fsspec(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from headrace.io import fileio\n"
        f"p = {str(tmp_path / 'x' / 'f.txt')!r}\n"
        "with fileio.open(p, 'w') as f: f.write('x')\n"
        "assert fileio.exists(p) and fileio.listdir(p.rsplit('/', 1)[0]) == ['f.txt']\n"
        "fileio.copy(p, p + '.copy'); fileio.glob(p + '*')\n"
        "print('fsspec' in sys.modules)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "False"


# -- a materializer written the ZenML way, against fileio ---------------------------------


class Tokens:
    def __init__(self, words: list[str]) -> None:
        self.words = words


class TokensMaterializer(BaseMaterializer):
    """Writes with ``fileio.open(os.path.join(self.uri, ...))`` as ported materializers do."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Tokens,)

    def save(self, data: Tokens) -> None:
        with fileio.open(os.path.join(self.uri, "data.txt"), "w") as handle:
            handle.write("\n".join(data.words))
        fileio.makedirs(os.path.join(self.uri, "extra"))
        with fileio.open(os.path.join(self.uri, "extra", "count.txt"), "w") as handle:
            handle.write(str(len(data.words)))

    def load(self, data_type: type[Any]) -> Tokens:
        with fileio.open(os.path.join(self.uri, "extra", "count.txt")) as handle:
            count = int(handle.read())
        with fileio.open(os.path.join(self.uri, "data.txt")) as handle:
            words = handle.read().split("\n")
        assert len(words) == count
        return data_type(words)


@pytest.mark.parametrize(
    "make_store",
    [
        lambda tmp: LocalArtifactStore(str(tmp / "store")),
        lambda tmp: FsspecArtifactStore(f"memory://fileio-{uuid.uuid4().hex}"),
    ],
    ids=["local", "memory"],
)
def test_fileio_style_materializer_round_trips(
    tmp_path: Path, make_store: Callable[[Path], Any]
) -> None:
    store = make_store(tmp_path)
    uri = store.join(store.path, "tokens")

    saved = save_value(
        Tokens(["a", "b", "ç"]),
        artifact_store=store,
        uri=uri,
        materializer_class=TokensMaterializer,
    )
    loaded = load_value(
        uri=saved.uri,
        materializer=saved.materializer,
        data_type=saved.data_type,
        python_version_written=saved.python_version,
        artifact_store=store,
    )

    assert isinstance(loaded, Tokens) and loaded.words == ["a", "b", "ç"]
    assert sorted(store.listdir(uri)) == ["data.txt", "extra"]  # renamed into place
    assert not [n for n in store.listdir(store.path) if ".tmp-" in n]
