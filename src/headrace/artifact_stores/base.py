"""Artifact stores: where artifact bytes live.

``LocalArtifactStore`` serves plain directories with ``os`` calls (no fsspec import on the
hot path); ``FsspecArtifactStore`` serves any fsspec URL (``memory://``, ``s3://``, ...).
Both expose the same small file API that materializers use through ``self.artifact_store``
(and that ``headrace.io.fileio`` offers as module functions). Text is always UTF-8, so an
artifact written on one machine reads the same on another whatever its locale.
"""

from __future__ import annotations

import glob as _glob
import io
import os
import posixpath
import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from headrace.artifact_stores.hashing import (
    CURRENT,
    ContentHash,
    StreamCheck,
    copy_hashing,
    file_hash,
    hash_beside,
    hash_bytes,
    hash_local_file,
)
from headrace.exceptions import ArtifactError

_HASH_CHUNK = 1 << 20
_FIRST_READ = 1 << 16  # most artifact files are small: no 1 MB buffer for them
TRUST_UNCHANGED_FROM = 1 << 20
"""Artifacts from this size are not hashed again on load while their files are unchanged
since this process hashed them (``LocalArtifactStore.unchanged_digest``); smaller ones
hash faster than that check would save."""
_UNCHANGED_LIMIT = 1024  # digests remembered per store (oldest forgotten first)


def _signature(status: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's bytes do (short of resetting the clock)."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def bytes_digest(data: bytes, algorithm: str = CURRENT) -> tuple[str, int]:
    """The inner hash and size of one file's bytes, as every store's ``write_bytes`` records
    it (and ``digest`` computes it from a file)."""
    return hash_bytes(data, algorithm), len(data)


def files_digest(files: Mapping[str, bytes], algorithm: str = CURRENT) -> tuple[str, int]:
    """The content hash and size of an artifact held in memory (relative name -> bytes):
    exactly what ``ArtifactStore.digest`` computes once the same files are on disk, so an
    artifact kept inline in its record hashes equal to the same value written as files.
    ``algorithm`` as for ``ArtifactStore.digest``."""
    outer = ContentHash(algorithm)
    total = 0
    for name in sorted(files):
        inner, size = bytes_digest(files[name], algorithm)
        outer.add(name.lstrip("/"), inner)
        total += size
    return outer.value(), total


class WriteRecord:
    """The files written below one artifact directory while it is saved, with their
    hashes, kept by the store that wrote them (``ArtifactStore.begin_record``).

    ``complete`` stays true only while every write below the directory went through a
    store call that hashed the bytes it wrote (``write_bytes``, a file ``copy_in``,
    ``remember_written``, a remote store's ``open``); any other write, removal or
    rename below it clears it, and the artifact is then hashed from a listing instead.
    """

    __slots__ = ("complete", "files", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.files: dict[str, tuple[str, int]] = {}
        self.complete = True

    def digest(self) -> tuple[str, int]:
        """The same value ``ArtifactStore.digest`` computes from a listing."""
        outer = ContentHash()
        total = 0
        cut = len(self.prefix)
        for key in sorted(self.files):
            inner, size = self.files[key]
            outer.add(key[cut:].lstrip("/"), inner)
            total += size
        return outer.value(), total


class ArtifactStore(ABC):
    """A root URI under which artifacts are written, and file operations below it."""

    atomic_rename: bool = True
    """Whether ``rename`` moves a directory into place at once (local disks). Stores
    without it (object storage) get artifacts written straight at their final URI."""

    def __init__(self, path: str, id: str | None = None) -> None:
        self.path = path
        self.id = id
        # Hashes taken while large files were written (path -> (inner hash, size)), used once
        # by ``digest`` instead of reading the file again.
        self._written: dict[str, tuple[str, int]] = {}
        # During a load (``headrace.artifacts.integrity.LoadCheck``): the bytes of small
        # files that were hashed and found to match (served by ``open`` instead of being
        # read again, so the materializer reads exactly the checked bytes), and the
        # checks of large files that are hashed while the materializer reads them.
        self._verified: dict[str, bytes] = {}
        self._checks: dict[str, StreamCheck] = {}
        self._records: list[WriteRecord] = []

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

    @abstractmethod
    def inside(self, path: str) -> str:
        """``path`` itself, once it is known to lie below the store's root.

        Every file operation passes its store paths through this, so no name that reaches a
        path (a step id, an output name, a file a materializer names) can make headrace
        read or write outside the root, whatever the layers above checked.

        Raises:
            ArtifactError: ``path`` resolves outside the root.
        """

    def outside_error(self, path: str) -> ArtifactError:
        """The error for a path that leaves the root."""
        return ArtifactError(
            f"Refusing to touch {path!r}: it lies outside the artifact store's root {self.path!r}."
        )

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

    def digest(self, path: str, algorithm: str = CURRENT) -> tuple[str, int]:
        """The content hash of every file below ``path`` (relative names and bytes) and
        their total size (see ``headrace.artifact_stores.hashing``).

        Names are relative to ``path``, so equal content stored at two URIs (two runs)
        has the same hash. ``algorithm`` is that of new records unless a version
        recorded with another one is being checked (``hashing.algorithm_of``).
        """
        total = 0
        outer = ContentHash(algorithm)
        path = self.canonical(path)
        reuse = bool(self._written) and algorithm == CURRENT
        for file in sorted(self.files_below(path)):
            known = self._written.pop(self._key(file), None) if reuse else None
            if known is None:
                known = self._hash_file(file, algorithm)
            outer.add(file[len(path) :].lstrip("/"), known[0])
            total += known[1]
        return outer.value(), total

    def _key(self, path: str) -> str:
        """``path`` as a key of the hashes remembered while writing."""
        return path

    def remember_written(self, path: str, inner: str, size: int) -> None:
        """A writer that hashed the bytes it wrote to the file ``path`` (with
        ``hashing.file_hash()``) tells the store, so ``digest`` uses that hash once
        instead of reading the file again. Only for bytes the caller hashed itself as it
        handed them to the file."""
        key = self._key(path)
        self._written[key] = (inner, size)
        if self._records:
            self._record(key, (inner, size))

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write the file ``path`` (replacing it) with ``data``, hashed as it is written,
        so saving a small artifact needs no listing and no second read."""
        with self.open(path, "wb") as handle:
            handle.write(data)
        if self._records:
            self._record(self._key(path), bytes_digest(data))

    def open_hashed(self, path: str) -> IO[Any]:
        """Open the file ``path`` to write bytes that the caller hashes itself and then
        reports with ``remember_written`` (so the write does not spoil a record)."""
        return self._open_unchecked(path, "wb")

    def write_buffers(self, path: str, buffers: Sequence[Any]) -> int:
        """Write the file ``path`` (replacing it) as the concatenation of ``buffers``
        (bytes-like objects, e.g. a large array's memory) and return its size.

        The bytes are hashed on a second thread while they are written (the caller's
        buffers must stay unchanged until this returns), and neither joined into one
        copy nor read again to hash them: what large-array materializers use.

        Raises:
            OSError: a write failed (a full disk included), or was short.
        """
        views = [memoryview(buffer).cast("B") for buffer in buffers]
        hashed, hasher = hash_beside(views)
        written = 0
        try:
            with self.open_hashed(path) as handle:
                for view in views:
                    written += handle.write(view)
        finally:
            hasher.join()
        expected = sum(len(view) for view in views)
        if written != expected:
            raise OSError(f"Only {written} of {expected} bytes were written to {path!r}.")
        self.remember_written(path, hashed.hexdigest(), written)
        return written

    # -- what an artifact's save wrote (used by headrace.artifacts.saving) -------------
    def begin_record(self, path: str) -> WriteRecord:
        """Start recording the files written below the directory ``path``."""
        record = WriteRecord(self._key(path).rstrip("/") + "/")
        self._records.append(record)
        return record

    def recorded_digest(self, record: WriteRecord) -> tuple[str, int]:
        """``digest`` of a completely recorded directory, from its record alone."""
        return record.digest()

    def end_record(self, record: WriteRecord) -> None:
        """Stop recording (always called; forgets the hashes it collected)."""
        self._records.remove(record)
        for key in record.files:
            self._written.pop(key, None)

    def unrecorded_write(self, path: str) -> None:
        """Something was written, moved or removed at ``path`` without its bytes being
        hashed: a record of a directory it is below (or at) can no longer be trusted."""
        if self._records:
            key = self._key(path).rstrip("/") + "/"
            for record in tuple(self._records):  # another thread may end one meanwhile
                if key.startswith(record.prefix) or record.prefix.startswith(key):
                    record.complete = False

    def _record(self, key: str, found: tuple[str, int]) -> None:
        for record in tuple(self._records):
            if key.startswith(record.prefix):
                record.files[key] = found

    def unchanged_digest(self, path: str) -> tuple[str, int] | None:
        """``digest(path)`` without reading the files, where the store can tell that
        they are unchanged since this process hashed them; ``None`` otherwise (always,
        unless a store overrides it)."""
        return None

    # -- checks while loading (used by headrace.artifacts.integrity) -------------------
    def files_for_check(self, path: str) -> list[tuple[str, str]]:
        """``(file, relative name)`` of every file below ``path``, in ``digest``'s order.

        Raises:
            FileNotFoundError: nothing is at ``path``.
        """
        path = self.canonical(self.inside(path))
        if not self.exists(path):
            raise FileNotFoundError(path)
        return [(f, f[len(path) :].lstrip("/")) for f in sorted(self.files_below(path))]

    def read_for_check(self, file: str) -> bytes:
        """The whole bytes of a (small) file, read past the verified-bytes cache."""
        with self._open_unchecked(file, "rb") as handle:
            return bytes(handle.read())

    def _open_unchecked(self, path: str, mode: str) -> IO[Any]:
        return self.open(path, mode)

    def keep_verified(self, file: str, data: bytes) -> None:
        """Serve ``data`` (hashed and found to match) for reads of ``file`` until
        ``end_check``."""
        self._verified[self._key(file)] = data

    def expect_stream(self, file: str, size: int, algorithm: str = CURRENT) -> StreamCheck:
        """Hash ``file`` while the materializer reads it (see ``stream_check``)."""
        check = StreamCheck(file, size, algorithm)
        self._checks[self._key(file)] = check
        return check

    def stream_check(self, path: str) -> StreamCheck | None:
        """The pending check of the file ``path`` during a load, if any: a reader that
        supports it feeds it the bytes it reads (``StreamCheck.feed``)."""
        return self._checks.get(self._key(path)) if self._checks else None

    def end_check(self, files: list[str]) -> None:
        """Forget the verified bytes and pending checks of these files."""
        for file in files:
            key = self._key(file)
            self._verified.pop(key, None)
            self._checks.pop(key, None)

    def _verified_handle(self, path: str, mode: str) -> IO[Any] | None:
        """A handle on the verified bytes of ``path`` for a read, if there are any."""
        if not self._verified or any(flag in mode for flag in "wax+"):
            return None
        data = self._verified.get(self._key(path))
        if data is None:
            return None
        if "b" in mode:
            return io.BytesIO(data)
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")

    def hash_file(self, file: str, algorithm: str = CURRENT) -> tuple[str, int]:
        """The inner hash and size of one file's bytes, read from the store."""
        return self._hash_file(file, algorithm)

    def _hash_file(self, file: str, algorithm: str = CURRENT) -> tuple[str, int]:
        inner = file_hash(algorithm)
        size = 0
        with self._open_unchecked(file, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                inner.update(chunk)
                size += len(chunk)
        return inner.hexdigest(), size


class FileHasher(threading.Thread):
    """The inner hash and size of a local file, computed beside a copy or upload of it."""

    def __init__(self, path: str, algorithm: str = CURRENT) -> None:
        super().__init__(daemon=True)
        self._path = path
        self._algorithm = algorithm
        self._result: tuple[str, int] | None = None
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            self._result = hash_local_file(self._path, self._algorithm)
        except OSError as exc:
            self.error = exc

    def result(self) -> tuple[str, int]:
        """``(hex digest, size)``; call after ``join``.

        Raises:
            OSError: the file could not be read.
        """
        if self.error is not None:
            raise self.error
        assert self._result is not None, "FileHasher.result() before the thread ran"
        return self._result


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a local directory."""

    def __init__(self, path: str, id: str | None = None) -> None:
        super().__init__(os.path.abspath(os.path.expanduser(path)), id)
        self._prefix = self.path.rstrip(os.sep) + os.sep
        # Digests of large artifacts this process hashed, with their files' signatures
        # (``unchanged_digest``): loading one again need not read it again.
        self._unchanged: dict[str, tuple[str, int, dict[str, tuple[int, ...]]]] = {}

    def inside(self, path: str) -> str:
        # The usual path (root + names joined below it, no parent step) costs two string
        # tests; anything else is normalised before it is compared.
        if path.startswith(self._prefix) and ".." not in path and "\0" not in path:
            return path
        if "\0" not in path:
            full = os.path.normpath(os.path.abspath(path))
            if full == self.path or full.startswith(self._prefix):
                return path
        raise self.outside_error(path)

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        if self._verified:
            verified = self._verified_handle(self.inside(path), mode)
            if verified is not None:
                return verified
        return self._open_unchecked(path, mode)

    def open_hashed(self, path: str) -> IO[Any]:
        return self._open_unchecked(path, "wb", recorded=True)

    def _open_unchecked(self, path: str, mode: str, recorded: bool = False) -> IO[Any]:
        encoding = None if "b" in mode else "utf-8"
        path = self.inside(path)
        if self._records and not recorded and any(flag in mode for flag in "wax+"):
            self.unrecorded_write(path)
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
        return os.path.exists(self.inside(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.inside(path))

    def makedirs(self, path: str) -> None:
        path = self.inside(path)
        try:
            os.mkdir(path)  # the usual case: the parent exists and the directory does not
        except (FileNotFoundError, FileExistsError):
            os.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(self.inside(path)))

    def remove(self, path: str) -> None:
        self.unrecorded_write(path)
        os.remove(self.inside(path))

    def rmtree(self, path: str) -> None:
        self.unrecorded_write(path)
        shutil.rmtree(self.inside(path), ignore_errors=True)

    def write_bytes(self, path: str, data: bytes) -> None:
        # One open, one write, one close: no buffered file object for a small document.
        path = self.inside(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            descriptor = os.open(path, flags, 0o666)
        try:
            view = memoryview(data)
            written = 0
            while written < len(view):
                written += os.write(descriptor, view[written:])
        finally:
            os.close(descriptor)
        if self._records:
            self._record(self._key(path), bytes_digest(data))

    def rename(self, src: str, dst: str) -> None:
        if self._records:
            self.unrecorded_write(src)
            self.unrecorded_write(dst)
        src, dst = self.inside(src), self.inside(dst)
        try:
            os.rename(src, dst)
        except FileNotFoundError:
            if not os.path.exists(src):
                raise
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.rename(src, dst)
        if self._unchanged:  # renaming a directory keeps its files' inodes and times
            known = self._unchanged.pop(os.path.normpath(src), None)
            if known is not None:
                self._remember(dst, known)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        yield from os.walk(self.inside(path))

    def files_below(self, path: str) -> list[str]:
        return self._files_below(self.inside(path))

    def _files_below(self, path: str) -> list[str]:
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
                    files.extend(self._files_below(entry.path))
            else:
                files.append(entry.path)
        return files

    def digest(self, path: str, algorithm: str = CURRENT) -> tuple[str, int]:
        # The same hash as ArtifactStore.digest, with plain file descriptors: it runs for
        # every output written and every artifact loaded, and most are one small file.
        path = self.inside(path)
        total = 0
        outer = ContentHash(algorithm)
        cut = len(path)
        signatures: dict[str, tuple[int, ...]] | None = {}
        reuse = algorithm == CURRENT
        for file in sorted(self._files_below(path)):
            relative = file[cut:].lstrip("/")
            if self._written and reuse:  # a large file hashed while it was copied in
                known = self._written.pop(self._key(file), None)
                if known is not None:
                    total += known[1]
                    outer.add(relative, known[0])
                    if signatures is not None:
                        signatures[relative] = _signature(os.stat(file))
                    continue
            inner = file_hash(algorithm)
            descriptor = os.open(file, os.O_RDONLY)
            try:
                before = os.fstat(descriptor)
                size = _FIRST_READ
                while chunk := os.read(descriptor, size):
                    inner.update(chunk)
                    total += len(chunk)
                    size = _HASH_CHUNK
                if signatures is not None:
                    signature = _signature(before)
                    if _signature(os.fstat(descriptor)) == signature:
                        signatures[relative] = signature
                    else:  # written to while it was hashed: never trusted unread
                        signatures = None
            finally:
                os.close(descriptor)
            outer.add(relative, inner.hexdigest())
        digest = outer.value()
        if signatures and total >= TRUST_UNCHANGED_FROM:
            self._remember(path, (digest, total, signatures))
        return digest, total

    def recorded_digest(self, record: WriteRecord) -> tuple[str, int]:
        digest, total = record.digest()
        if total >= TRUST_UNCHANGED_FROM:  # a later load here need not read it again
            cut = len(record.prefix)
            signatures = {key[cut:]: _signature(os.stat(key)) for key in record.files}
            self._remember(record.prefix.rstrip("/"), (digest, total, signatures))
        return digest, total

    def unchanged_digest(self, path: str) -> tuple[str, int] | None:
        """The digest this process computed for ``path``, if none of its files changed
        since: the same names, and each file's device, inode, size, modification and
        change times (nanoseconds) as when it was hashed; ``None`` otherwise.

        Nothing short of changing the system clock (or writing to the disk's blocks
        directly) alters a file's bytes while keeping its change time; the one gap is a
        same-size rewrite within one tick of the filesystem's timestamp clock of the
        moment it was hashed. ``HEADRACE_VERIFY_ARTIFACTS=always`` closes it.
        """
        if not self._unchanged:
            return None
        path = self.inside(path)
        known = self._unchanged.get(os.path.normpath(path))
        if known is None:
            return None
        digest, total, signatures = known
        cut = len(path)
        files = self._files_below(path)
        if len(files) != len(signatures):
            return None
        for file in files:
            signature = signatures.get(file[cut:].lstrip("/"))
            try:
                if signature is None or _signature(os.stat(file)) != signature:
                    return None
            except OSError:
                return None
        return digest, total

    def _remember(self, path: str, known: tuple[str, int, dict[str, tuple[int, ...]]]) -> None:
        unchanged = self._unchanged
        unchanged[os.path.normpath(path)] = known
        if len(unchanged) > _UNCHANGED_LIMIT:
            del unchanged[next(iter(unchanged))]

    def copy(self, src: str, dst: str) -> None:
        self.unrecorded_write(dst)
        src, dst = self.inside(src), self.inside(dst)
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        self.copy_in(src, dst)

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(self.inside(pattern), recursive=True))

    def size(self, path: str) -> int:
        return os.path.getsize(self.inside(path))

    def copy_in(self, local_path: str, path: str) -> None:
        path = self.inside(path)
        if os.path.isdir(local_path):
            self.unrecorded_write(path)
            shutil.copytree(local_path, path, dirs_exist_ok=True)
            return
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        # The file is hashed from the very bytes written (a second thread hashes one
        # buffer while the next is copied), so ``digest`` need not read it again.
        self.remember_written(path, *_copy_file_hashing(local_path, path))

    def _key(self, path: str) -> str:
        return os.path.normpath(path)

    def copy_out(self, path: str, local_path: str) -> None:
        path = self.inside(path)
        if os.path.isdir(path):
            shutil.copytree(path, local_path, dirs_exist_ok=True)
            return
        parent = os.path.dirname(local_path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        check = self.stream_check(path)
        if check is None:
            shutil.copyfile(path, local_path)
            return
        # A load's check is pending: the copy's own bytes are hashed as they are written.
        check.outputs.append(local_path)
        check.set_result(*_copy_file_hashing(path, local_path, check.algorithm))


def _copy_file_hashing(source: str, target: str, algorithm: str = CURRENT) -> tuple[str, int]:
    """Copy a file (replacing ``target``) and return the inner hash and size written."""
    reader = os.open(source, os.O_RDONLY)
    try:
        size = os.fstat(reader).st_size
        writer = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            return copy_hashing(reader, writer, size, algorithm)
        finally:
            os.close(writer)
    finally:
        os.close(reader)


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
        self._root = posixpath.normpath("/" + self.fs._strip_protocol(root).strip("/"))

    def inside(self, path: str) -> str:
        if "\0" not in path:
            full = posixpath.normpath("/" + self.fs._strip_protocol(path).strip("/"))
            if self._root == "/" or full == self._root or full.startswith(self._root + "/"):
                return path
        raise self.outside_error(path)

    def _url(self, path: str) -> str:
        if "://" in path or not self._protocol:
            return path
        return f"{self._protocol}://{path.lstrip('/')}"

    def canonical(self, path: str) -> str:
        return self._url(self.fs._strip_protocol(path))

    def open_hashed(self, path: str) -> IO[Any]:
        return self.fs.open(self.inside(path), "wb")

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        path = self.inside(path)
        if self._verified:
            verified = self._verified_handle(path, mode)
            if verified is not None:
                return verified
        if self._records and any(flag in mode for flag in "wax+"):
            self.unrecorded_write(path)
        if "b" in mode:
            return self.fs.open(path, mode)
        return self.fs.open(path, mode, encoding="utf-8")

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self.inside(path)))

    def isdir(self, path: str) -> bool:
        return bool(self.fs.isdir(self.inside(path)))

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(self.inside(path), exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        listed = self.fs.ls(self.inside(path), detail=False)
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listed)

    def remove(self, path: str) -> None:
        self.unrecorded_write(path)
        self.fs.rm(self.inside(path))

    def rmtree(self, path: str) -> None:
        self.unrecorded_write(path)
        if self.fs.exists(self.inside(path)):
            self.fs.rm(path, recursive=True)

    def rename(self, src: str, dst: str) -> None:
        self.unrecorded_write(src)
        self.unrecorded_write(dst)
        self.fs.mv(self.inside(src), self.inside(dst), recursive=True)

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        for dirpath, dirs, files in self.fs.walk(self.inside(path)):
            yield self._url(dirpath), list(dirs), list(files)

    def copy(self, src: str, dst: str) -> None:
        self.unrecorded_write(dst)
        src, dst = self.inside(src), self.inside(dst)
        recursive = self.fs.isdir(src)
        if recursive and self.fs.exists(dst):
            self.fs.rm(dst, recursive=True)  # else fsspec would copy *into* dst
        self.fs.copy(src, dst, recursive=recursive)

    def glob(self, pattern: str) -> list[str]:
        return sorted(self._url(p) for p in self.fs.glob(self.inside(pattern)))

    def size(self, path: str) -> int:
        return int(self.fs.size(self.inside(path)))

    def write_bytes(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(self.inside(path), data)
        if self._records:
            self._record(self._key(path), bytes_digest(data))

    def copy_in(self, local_path: str, path: str) -> None:
        self.unrecorded_write(path)
        self.fs.put(local_path, self.inside(path), recursive=os.path.isdir(local_path))

    def copy_out(self, path: str, local_path: str) -> None:
        self.fs.get(self.inside(path), local_path, recursive=self.fs.isdir(path))


_STORES: dict[tuple[str, str | None], ArtifactStore] = {}
_REMOTE_ROOTS: dict[str, ArtifactStore] = {}


def register_remote_store(store: ArtifactStore) -> None:
    """Make ``store`` serve every URL below its root (``fileio``, logs, visualizations),
    so they are read with its credentials and endpoint instead of fsspec's defaults."""
    _REMOTE_ROOTS[store.path.rstrip("/")] = store


def registered_store_for(url: str) -> ArtifactStore | None:
    """The registered remote store whose root ``url`` is below, if any (longest root)."""
    if not _REMOTE_ROOTS:
        return None
    best: ArtifactStore | None = None
    for root, store in _REMOTE_ROOTS.items():
        if (url == root or url.startswith(root + "/")) and (
            best is None or len(root) > len(best.path)
        ):
            best = store
    return best


def artifact_store_for(path: str, id: str | None = None) -> ArtifactStore:
    """The artifact store for a root path or URL (one instance per process)."""
    key = (path, id)
    store = _STORES.get(key)
    if store is None:
        if "://" in path and not path.startswith("file://"):
            store = registered_store_for(path) or FsspecArtifactStore(path, id)
        else:
            local = path[len("file://") :] if path.startswith("file://") else path
            store = LocalArtifactStore(local, id)
        _STORES[key] = store
    return store
