"""File functions for local paths and fsspec URLs (``memory://``, ``s3://``, ...).

Each function finds the artifact store that serves its path (``artifact_store_for``) and
calls the same operation on it, so code written against these functions works on every
artifact store headrace supports. Local paths (and ``file://`` URLs) are served with
``os`` and ``shutil`` calls; fsspec is imported only when a URL needs it.

Errors follow the standard library: ``FileNotFoundError`` for a missing source,
``FileExistsError`` when a destination exists and ``overwrite`` is false.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import IO, Any

from headrace.artifact_stores.base import (
    ArtifactStore,
    artifact_store_for,
    registered_store_for,
)

_LOCAL_ROOT = "/"
_COPY_CHUNK = 1 << 20


def _split(path: str | Any) -> tuple[ArtifactStore, str]:
    """The store serving ``path`` and the path in the form that store takes."""
    path = str(path)
    if "://" in path and not path.startswith("file://"):
        registered = registered_store_for(path)
        if registered is not None:
            return registered, path
        protocol = path.split("://", 1)[0]
        return artifact_store_for(f"{protocol}://"), path
    return artifact_store_for(_LOCAL_ROOT), path.removeprefix("file://")


def open(path: str, mode: str = "r") -> IO[Any]:
    """Open a file; writing creates missing parent directories. Text is UTF-8."""
    store, target = _split(path)
    return store.open(target, mode)


def exists(path: str) -> bool:
    """Whether a file or directory exists at ``path``."""
    store, target = _split(path)
    return store.exists(target)


def isdir(path: str) -> bool:
    """Whether ``path`` is a directory."""
    store, target = _split(path)
    return store.isdir(target)


def makedirs(path: str) -> None:
    """Create a directory and its parents (no error if it exists)."""
    store, target = _split(path)
    store.makedirs(target)


def mkdir(path: str) -> None:
    """Create a directory (its parents too; same as :func:`makedirs`)."""
    makedirs(path)


def listdir(path: str) -> list[str]:
    """Names (not paths) of the entries of a directory, sorted."""
    store, target = _split(path)
    if not store.isdir(target):
        raise FileNotFoundError(f"No directory at {path}")
    return store.listdir(target)


def remove(path: str) -> None:
    """Delete a file."""
    store, target = _split(path)
    if not store.exists(target):
        raise FileNotFoundError(f"No file at {path}")
    store.remove(target)


def rmtree(path: str) -> None:
    """Delete a directory and everything below it."""
    store, target = _split(path)
    if not store.exists(target):
        raise FileNotFoundError(f"No directory at {path}")
    store.rmtree(target)


def walk(path: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """Walk a directory tree like ``os.walk``."""
    store, target = _split(path)
    return store.walk(target)


def size(path: str) -> int:
    """Size of a file in bytes."""
    store, target = _split(path)
    return store.size(target)


def glob(pattern: str) -> list[str]:
    """Paths matching a glob pattern, sorted; URLs come back as URLs."""
    store, target = _split(pattern)
    return store.glob(target)


def _check_destination(dst_store: ArtifactStore, dst: str, overwrite: bool, shown: str) -> None:
    if not overwrite and dst_store.exists(dst):
        raise FileExistsError(f"{shown} exists; pass overwrite=True to replace it.")


def rename(src: str, dst: str, overwrite: bool = False) -> None:
    """Move ``src`` to ``dst``; across filesystems this copies and then deletes ``src``."""
    src_store, source = _split(src)
    dst_store, target = _split(dst)
    if not src_store.exists(source):
        raise FileNotFoundError(f"No file or directory at {src}")
    _check_destination(dst_store, target, overwrite, dst)
    if src_store is dst_store:
        if overwrite and dst_store.isdir(target):
            dst_store.rmtree(target)
        src_store.rename(source, target)
        return
    copy(src, dst, overwrite=overwrite)
    if src_store.isdir(source):
        src_store.rmtree(source)
    else:
        src_store.remove(source)


def copy(src: str, dst: str, overwrite: bool = False) -> None:
    """Copy a file (or a directory tree) from ``src`` to ``dst``, across filesystems too."""
    src_store, source = _split(src)
    dst_store, target = _split(dst)
    if not src_store.exists(source):
        raise FileNotFoundError(f"No file or directory at {src}")
    _check_destination(dst_store, target, overwrite, dst)
    if src_store is dst_store:
        src_store.copy(source, target)
    elif src_store.isdir(source):
        _copy_tree(src_store, source, dst_store, target)
    else:
        _copy_file(src_store, source, dst_store, target)


def _copy_file(src_store: ArtifactStore, src: str, dst_store: ArtifactStore, dst: str) -> None:
    with src_store.open(src, "rb") as reader, dst_store.open(dst, "wb") as writer:
        shutil.copyfileobj(reader, writer, _COPY_CHUNK)


def _copy_tree(src_store: ArtifactStore, src: str, dst_store: ArtifactStore, dst: str) -> None:
    root = src_store.canonical(src)
    if dst_store.isdir(dst):
        dst_store.rmtree(dst)
    dst_store.makedirs(dst)
    for dirpath, dirs, files in src_store.walk(root):
        relative = dirpath[len(root) :].strip("/")
        for name in dirs:
            dst_store.makedirs(dst_store.join(dst, relative, name))
        for name in files:
            source = src_store.join(dirpath, name)
            _copy_file(src_store, source, dst_store, dst_store.join(dst, relative, name))


__all__ = [
    "copy",
    "exists",
    "glob",
    "isdir",
    "listdir",
    "makedirs",
    "mkdir",
    "open",
    "remove",
    "rename",
    "rmtree",
    "size",
    "walk",
]
