"""Artifact files held in memory: captured while a small value is saved, served while an
inline artifact is loaded.

A small artifact (a step's ``int``, a short list) costs more in file-system calls than in
bytes: a directory, a file, a rename. ``CapturingStore`` stands in for the real store
while a materializer that writes only through the store saves a value: its files stay in
memory, and if they are few and small they are recorded inside the artifact version's
database record instead (``headrace.artifacts.inline``). The first call that is not a
plain ``write_bytes`` below the artifact's directory (or a write past the size limit)
*spills*: what was captured is written to the real store and every later call goes
there, so the save continues exactly as it would have without the capture.

``InlineFilesStore`` serves such recorded files back, read-only, at the URI they would
have had, so a materializer's ``load`` reads them as if they were on disk.
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
from collections.abc import Iterator, Sequence
from typing import IO, Any

from headrace.artifact_stores.base import ArtifactStore, files_digest
from headrace.artifact_stores.hashing import CURRENT, StreamCheck
from headrace.exceptions import ArtifactError

_WRITE_FLAGS = "wax+"


def clean_relative(name: str) -> bool:
    """Whether ``name`` is a relative file name a directory listing would give back as is
    (no ``.``/``..`` parts, no doubled or trailing slashes, no NUL)."""
    return (
        bool(name)
        and "\0" not in name
        and not name.startswith("/")
        and posixpath.normpath(name) == name
        and name != "."
        and not name.startswith("../")
        and name != ".."
    )


class CapturingStore(ArtifactStore):
    """Keeps the files written below ``directory`` in memory until something needs the
    real store ``real`` (see the module docstring); ``limit`` bytes at most."""

    def __init__(self, real: ArtifactStore, directory: str, limit: int) -> None:
        super().__init__(real.path, real.id)
        self.real = real
        self.atomic_rename = real.atomic_rename
        self.directory = directory.rstrip("/")
        self._below = self.directory + "/"
        self.limit = limit
        self.spilled = False
        self._files: dict[str, tuple[str, bytes]] = {}  # relative name -> (path, bytes)
        self._total = 0

    # -- what a small save uses ------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        """The captured files by relative name (empty once spilled)."""
        return {name: data for name, (_path, data) in self._files.items()}

    def write_bytes(self, path: str, data: bytes) -> None:
        if not self.spilled:
            name = self._captured_name(path)
            if name is not None:
                old = self._files.get(name)
                total = self._total + len(data) - (len(old[1]) if old else 0)
                if total <= self.limit and (old is not None or not self._clashes(name)):
                    self._files[name] = (path, bytes(data))  # copied only when small
                    self._total = total
                    return
        self.spill()
        self.real.write_bytes(path, data)

    def makedirs(self, path: str) -> None:
        # A directory holds no bytes: the digest of an artifact lists only files.
        if not self.spilled and (path.rstrip("/") == self.directory or self._captured_name(path)):
            return
        self.spill()
        self.real.makedirs(path)

    def spill(self) -> None:
        """Write what was captured to the real store; from now on every call goes there."""
        if self.spilled:
            return
        self.spilled = True
        self.real.makedirs(self.directory)
        files, self._files = self._files, {}
        for path, data in files.values():
            self.real.write_bytes(path, data)

    def _captured_name(self, path: str) -> str | None:
        if not path.startswith(self._below):
            return None
        name = path[len(self._below) :]
        return name if clean_relative(name) else None

    def _clashes(self, name: str) -> bool:
        """Whether a new file ``name`` would be a directory of a captured file or below
        one (the disk would refuse it; spilling lets it)."""
        for other in self._files:
            if other.startswith(name + "/") or name.startswith(other + "/"):
                return True
        return False

    # -- path arithmetic needs no store ------------------------------------------------
    def inside(self, path: str) -> str:
        return self.real.inside(path)

    def join(self, *parts: str) -> str:
        return self.real.join(*parts)

    def canonical(self, path: str) -> str:
        return self.real.canonical(path)

    # -- everything else needs the real store: spill first ---------------------------------
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        self.spill()
        return self.real.open(path, mode)

    def open_hashed(self, path: str) -> IO[Any]:
        self.spill()
        return self.real.open_hashed(path)

    def remember_written(self, path: str, inner: str, size: int) -> None:
        self.spill()
        self.real.remember_written(path, inner, size)

    def write_buffers(self, path: str, buffers: Sequence[Any]) -> int:
        self.spill()  # large by design (an array's memory): the real store's own path
        return self.real.write_buffers(path, buffers)

    def unrecorded_write(self, path: str) -> None:
        self.spill()
        self.real.unrecorded_write(path)

    def exists(self, path: str) -> bool:
        self.spill()
        return self.real.exists(path)

    def isdir(self, path: str) -> bool:
        self.spill()
        return self.real.isdir(path)

    def listdir(self, path: str) -> list[str]:
        self.spill()
        return self.real.listdir(path)

    def remove(self, path: str) -> None:
        self.spill()
        self.real.remove(path)

    def rmtree(self, path: str) -> None:
        self.spill()
        self.real.rmtree(path)

    def rename(self, src: str, dst: str) -> None:
        self.spill()
        self.real.rename(src, dst)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        self.spill()
        return self.real.walk(path)

    def copy(self, src: str, dst: str) -> None:
        self.spill()
        self.real.copy(src, dst)

    def glob(self, pattern: str) -> list[str]:
        self.spill()
        return self.real.glob(pattern)

    def size(self, path: str) -> int:
        self.spill()
        return self.real.size(path)

    def copy_in(self, local_path: str, path: str) -> None:
        self.spill()
        self.real.copy_in(local_path, path)

    def copy_out(self, path: str, local_path: str) -> None:
        self.spill()
        self.real.copy_out(path, local_path)

    def files_below(self, path: str) -> list[str]:
        self.spill()
        return self.real.files_below(path)

    def digest(self, path: str, algorithm: str = CURRENT) -> tuple[str, int]:
        self.spill()
        return self.real.digest(path, algorithm)

    def hash_file(self, file: str, algorithm: str = CURRENT) -> tuple[str, int]:
        self.spill()
        return self.real.hash_file(file, algorithm)

    def stream_check(self, path: str) -> StreamCheck | None:
        return self.real.stream_check(path)


class InlineFilesStore(ArtifactStore):
    """The files of one inline artifact (relative name -> bytes), served read-only at
    ``uri``: the directory they would have had in the artifact store."""

    def __init__(self, uri: str, files: dict[str, bytes], id: str | None = None) -> None:
        super().__init__(uri.rstrip("/") or uri, id)
        self.files = files
        self._dirs = {""}
        for name in files:
            parts = name.split("/")
            for end in range(1, len(parts)):
                self._dirs.add("/".join(parts[:end]))

    def _name(self, path: str) -> str:
        """``path`` relative to the artifact's directory (``""`` for the directory).

        Raises:
            ArtifactError: ``path`` is not the directory or below it.
        """
        root = self.path
        if path.rstrip("/") == root:
            return ""
        if "\0" not in path and path.startswith(root + "/"):
            name = posixpath.normpath(path[len(root) + 1 :])
            if name != ".." and not name.startswith("../") and not name.startswith("/"):
                return "" if name == "." else name
        raise ArtifactError(
            f"{path!r} is not inside the inline artifact at {root!r} (its files are kept "
            "in the database record, not in the artifact store)."
        )

    def _full(self, name: str) -> str:
        return f"{self.path}/{name}" if name else self.path

    def inside(self, path: str) -> str:
        self._name(path)
        return path

    def _read_only(self, path: str) -> ArtifactError:
        return ArtifactError(
            f"Cannot write {path!r}: it belongs to an inline artifact, whose files are kept "
            "read-only in its database record."
        )

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        if any(flag in mode for flag in _WRITE_FLAGS):
            raise self._read_only(path)
        data = self.files.get(self._name(path))
        if data is None:
            raise FileNotFoundError(path)
        if "b" in mode:
            return io.BytesIO(data)
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")

    def _open_unchecked(self, path: str, mode: str) -> IO[Any]:
        return self.open(path, mode)

    def exists(self, path: str) -> bool:
        name = self._name(path)
        return name in self.files or name in self._dirs

    def isdir(self, path: str) -> bool:
        return self._name(path) in self._dirs

    def listdir(self, path: str) -> list[str]:
        name = self._name(path)
        if name not in self._dirs:
            raise FileNotFoundError(path)
        prefix = f"{name}/" if name else ""
        entries = {n[len(prefix) :].split("/", 1)[0] for n in self.files if n.startswith(prefix)}
        return sorted(entries)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        top = self._name(path)
        if top not in self._dirs:
            return
        for directory in sorted(d for d in self._dirs if _below(d, top)):
            prefix = f"{directory}/" if directory else ""
            dirs = sorted(
                d[len(prefix) :]
                for d in self._dirs
                if d.startswith(prefix) and d != directory
                if "/" not in d[len(prefix) :]
            )
            names = sorted(
                n[len(prefix) :]
                for n in self.files
                if n.startswith(prefix) and "/" not in n[len(prefix) :]
            )
            yield self._full(directory), dirs, names

    def glob(self, pattern: str) -> list[str]:
        name = self._name(pattern)
        return sorted(self._full(n) for n in self.files if fnmatch.fnmatchcase(n, name))

    def size(self, path: str) -> int:
        data = self.files.get(self._name(path))
        if data is None:
            raise FileNotFoundError(path)
        return len(data)

    def files_below(self, path: str) -> list[str]:
        top = self._name(path)
        if top in self.files:
            return [self._full(top)]
        return [self._full(n) for n in self.files if _below(n, top)]

    def digest(self, path: str, algorithm: str = CURRENT) -> tuple[str, int]:
        top = self._name(path)
        if top in self.files:
            return files_digest({"": self.files[top]}, algorithm)
        cut = len(top) + 1 if top else 0
        files = {n[cut:]: d for n, d in self.files.items() if _below(n, top)}
        return files_digest(files, algorithm)

    def copy_out(self, path: str, local_path: str) -> None:
        top = self._name(path)
        if top in self.files:
            targets = {local_path: self.files[top]}
        elif top in self._dirs:
            cut = len(top) + 1 if top else 0
            targets = {
                os.path.join(local_path, *n[cut:].split("/")): d
                for n, d in self.files.items()
                if _below(n, top)
            }
            os.makedirs(local_path, exist_ok=True)
        else:
            raise FileNotFoundError(path)
        for target, data in targets.items():
            parent = os.path.dirname(target)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)

    def makedirs(self, path: str) -> None:
        raise self._read_only(path)

    def remove(self, path: str) -> None:
        raise self._read_only(path)

    def rmtree(self, path: str) -> None:
        raise self._read_only(path)

    def rename(self, src: str, dst: str) -> None:
        raise self._read_only(dst)

    def copy(self, src: str, dst: str) -> None:
        raise self._read_only(dst)

    def copy_in(self, local_path: str, path: str) -> None:
        raise self._read_only(path)

    def write_bytes(self, path: str, data: bytes) -> None:
        raise self._read_only(path)

    def open_hashed(self, path: str) -> IO[Any]:
        raise self._read_only(path)


def _below(name: str, top: str) -> bool:
    return not top or name == top or name.startswith(top + "/")
