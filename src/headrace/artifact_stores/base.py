"""Artifact stores: where artifact bytes live.

``LocalArtifactStore`` serves plain directories with ``os`` calls (no fsspec import on the
hot path); ``FsspecArtifactStore`` serves any fsspec URL (``memory://``, ``s3://``, ...).
Both expose the same small file API that materializers use through ``self.artifact_store``
(and that ``headrace.io.fileio`` offers as module functions). Text is always UTF-8, so an
artifact written on one machine reads the same on another whatever its locale.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import IO, Any

_HASH_CHUNK = 1 << 20


class ArtifactStore(ABC):
    """A root URI under which artifacts are written, and file operations below it."""

    def __init__(self, path: str, id: str | None = None) -> None:
        self.path = path
        self.id = id

    @abstractmethod
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        """Open a file in the store."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file or directory exists."""

    @abstractmethod
    def isdir(self, path: str) -> bool:
        """Whether ``path`` is a directory."""

    @abstractmethod
    def makedirs(self, path: str) -> None:
        """Create a directory and its parents."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names of the entries in a directory."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete a file."""

    @abstractmethod
    def rmtree(self, path: str) -> None:
        """Delete a directory and everything below it."""

    @abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` (atomic on local disks)."""

    @abstractmethod
    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """Walk a directory tree like ``os.walk``."""

    @abstractmethod
    def copy(self, src: str, dst: str) -> None:
        """Copy a file or directory within the store (``dst`` is replaced)."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Paths matching a glob pattern (``*``, ``**``, ``?``), sorted."""

    @abstractmethod
    def size(self, path: str) -> int:
        """Size of a file in bytes."""

    @abstractmethod
    def copy_in(self, local_path: str, path: str) -> None:
        """Copy a local file or directory into the store at ``path``."""

    @abstractmethod
    def copy_out(self, path: str, local_path: str) -> None:
        """Copy a file or directory from the store to a local path."""

    def join(self, *parts: str) -> str:
        """Join path parts with ``/``."""
        return "/".join(p.strip("/") if i else p.rstrip("/") for i, p in enumerate(parts) if p)

    def canonical(self, path: str) -> str:
        """``path`` in the form ``walk`` yields, so relative names can be cut off it."""
        return path

    def files_below(self, path: str) -> list[str]:
        """Every file below directory ``path`` (or ``[path]`` if it is a file)."""
        if not self.isdir(path):
            return [path]
        files: list[str] = []
        for dirpath, _dirs, names in self.walk(path):
            files.extend(self.join(dirpath, n) for n in names)
        return files

    def digest(self, path: str) -> tuple[str, int]:
        """SHA-256 over every file below ``path`` (relative names and bytes) and their size.

        Names are relative to ``path``, so equal content stored at two URIs (two runs)
        has the same hash.
        """
        total = 0
        outer = hashlib.sha256()
        path = self.canonical(path)
        for file in sorted(self.files_below(path)):
            inner = hashlib.sha256()
            with self.open(file, "rb") as handle:
                while chunk := handle.read(_HASH_CHUNK):
                    inner.update(chunk)
                    total += len(chunk)
            relative = file[len(path) :].lstrip("/")
            outer.update(f"{relative}\0{inner.hexdigest()}\n".encode())
        return outer.hexdigest(), total


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a local directory."""

    def __init__(self, path: str, id: str | None = None) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(path)), id)

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        encoding = None if "b" in mode else "utf-8"
        try:
            return open(path, mode, encoding=encoding)
        except FileNotFoundError:
            # Writing below a directory that does not exist yet: make it. Tried second,
            # so the usual write (into a fresh artifact directory) costs no extra stat.
            parent = os.path.dirname(path)
            if not parent or not any(flag in mode for flag in "wax") or os.path.isdir(parent):
                raise
            os.makedirs(parent, exist_ok=True)
            return open(path, mode, encoding=encoding)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def makedirs(self, path: str) -> None:
        try:
            os.mkdir(path)  # the usual case: the parent exists and the directory does not
        except (FileNotFoundError, FileExistsError):
            os.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def remove(self, path: str) -> None:
        os.remove(path)

    def rmtree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def rename(self, src: str, dst: str) -> None:
        try:
            os.rename(src, dst)
        except FileNotFoundError:
            if not os.path.exists(src):
                raise
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.rename(src, dst)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        yield from os.walk(path)

    def files_below(self, path: str) -> list[str]:
        # One scandir per directory instead of os.walk's generator machinery: this runs
        # for every output of every step. Symlinked directories are not followed, as in
        # os.walk.
        try:
            entries = list(os.scandir(path))
        except NotADirectoryError:
            return [path]
        files: list[str] = []
        for entry in entries:
            if entry.is_dir():
                if not entry.is_symlink():
                    files.extend(self.files_below(entry.path))
            else:
                files.append(entry.path)
        return files

    def copy(self, src: str, dst: str) -> None:
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        self.copy_in(src, dst)

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(pattern, recursive=True))

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def copy_in(self, local_path: str, path: str) -> None:
        if os.path.isdir(local_path):
            shutil.copytree(local_path, path, dirs_exist_ok=True)
        else:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            shutil.copyfile(local_path, path)

    def copy_out(self, path: str, local_path: str) -> None:
        self.copy_in(path, local_path)


class FsspecArtifactStore(ArtifactStore):
    """Artifacts on any filesystem fsspec knows (``memory://``, ``file://``, ``s3://``, ...)."""

    def __init__(self, path: str, id: str | None = None) -> None:
        import fsspec

        self._protocol = path.split("://", 1)[0] if "://" in path else ""
        root = path.rstrip("/")
        if self._protocol and root == self._protocol + ":":
            root = self._protocol + "://"  # the whole filesystem: keep the URL a URL
        super().__init__(root, id)
        self.fs, _ = fsspec.core.url_to_fs(path)

    def _url(self, path: str) -> str:
        if "://" in path or not self._protocol:
            return path
        return f"{self._protocol}://{path.lstrip('/')}"

    def canonical(self, path: str) -> str:
        return self._url(self.fs._strip_protocol(path))

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        if "b" in mode:
            return self.fs.open(path, mode)
        return self.fs.open(path, mode, encoding="utf-8")

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def isdir(self, path: str) -> bool:
        return bool(self.fs.isdir(path))

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False))

    def remove(self, path: str) -> None:
        self.fs.rm(path)

    def rmtree(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def rename(self, src: str, dst: str) -> None:
        self.fs.mv(src, dst, recursive=True)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        for dirpath, dirs, files in self.fs.walk(path):
            yield self._url(dirpath), list(dirs), list(files)

    def copy(self, src: str, dst: str) -> None:
        recursive = self.fs.isdir(src)
        if recursive and self.fs.exists(dst):
            self.fs.rm(dst, recursive=True)  # else fsspec would copy *into* dst
        self.fs.copy(src, dst, recursive=recursive)

    def glob(self, pattern: str) -> list[str]:
        return sorted(self._url(p) for p in self.fs.glob(pattern))

    def size(self, path: str) -> int:
        return int(self.fs.size(path))

    def copy_in(self, local_path: str, path: str) -> None:
        self.fs.put(local_path, path, recursive=os.path.isdir(local_path))

    def copy_out(self, path: str, local_path: str) -> None:
        self.fs.get(path, local_path, recursive=self.fs.isdir(path))


_STORES: dict[tuple[str, str | None], ArtifactStore] = {}


def artifact_store_for(path: str, id: str | None = None) -> ArtifactStore:
    """The artifact store for a root path or URL (one instance per process)."""
    key = (path, id)
    store = _STORES.get(key)
    if store is None:
        if "://" in path and not path.startswith("file://"):
            store = FsspecArtifactStore(path, id)
        else:
            local = path[len("file://") :] if path.startswith("file://") else path
            store = LocalArtifactStore(local, id)
        _STORES[key] = store
    return store
