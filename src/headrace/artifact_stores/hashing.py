"""Artifact content hashes, and hashing bytes while they move.

This module is the only place that knows how an artifact is hashed. An artifact's
content hash (``ArtifactStore.digest``) is a hash over each file's relative name and the
hash of its bytes (one ``name NUL inner-hex LF`` line per file, in sorted order):

* **BLAKE3** for everything written now, spelt ``blake3:<56 hex digits>``: the first 224
  bits of BLAKE3's output over those lines, whose inner hashes are BLAKE3 too (the full
  256 bits). BLAKE3 hashes about 4 GB/s on one core here, two to five times SHA-256,
  which makes hashing cheaper than copying the bytes it hashes. 224 bits (as SHA-224)
  keep the prefixed value within the 64 characters that every existing database column
  for content hashes holds, so no migration rewrites a table.
* **SHA-256** for versions recorded before: a bare 64-digit hex digest, SHA-256 over the
  same lines with SHA-256 inner hashes. They still load and are checked with SHA-256
  (:func:`algorithm_of` reads which from the recorded value itself).

The helpers below compute a file's inner hash from the very bytes that are being
written or read, beside the transfer: a second thread hashes them while the transfer
goes on (both hashes release the GIL on large buffers, so both run at once on two
cores).

* :func:`copy_hashing` copies between two files inside the kernel and hashes what the
  target holds right behind the copy (a file copied into a store, or out of one).
* :class:`StreamCheck` is a file's pending check during a load: the reader feeds it the
  bytes it used, in order, and the load's check uses its hash when it saw the whole file
  (else the file is hashed separately, so a partial reader never weakens the check).
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import blake3

from headrace.exceptions import ArtifactIntegrityError

BLAKE3 = "blake3"
SHA256 = "sha256"
CURRENT = BLAKE3
"""The algorithm of every content hash written now."""
_BLAKE3_PREFIX = "blake3:"
_BLAKE3_OUTER_BYTES = 28  # 224 bits: "blake3:" + 56 hex digits fit a 64-character column
_HASH_CHUNK = 1 << 20

COPY_CHUNK = 8 << 20
"""Bytes per read and write of a hashed copy (two such buffers are in use at once)."""
_PARALLEL_FROM = 1 << 20  # below this a second thread costs more than it saves
_HASH_BEHIND_READ = 1 << 20
"""Bytes per read of the thread hashing behind a copy: small enough to stay in the
core's cache between the read and the hash (with 8 MiB reads, each byte went through
main memory twice, and a 1 GiB hashed copy took 0.40 s against 0.33 s; a plain copy 0.30 s)."""


class FileHash(Protocol):
    """A running hash of one file's bytes (``hashlib``'s and ``blake3``'s shape)."""

    def update(self, data: Any, /) -> Any: ...

    def hexdigest(self) -> str: ...


def algorithm_of(content_hash: str) -> str:
    """The algorithm a recorded content hash was computed with.

    Raises:
        ArtifactIntegrityError: the value names an algorithm this version does not know
            (written by a newer headrace).
    """
    if content_hash.startswith(_BLAKE3_PREFIX):
        return BLAKE3
    if ":" in content_hash:
        raise ArtifactIntegrityError(
            f"The content hash {content_hash[:24]!r}... was computed with an algorithm this "
            f"version of headrace does not know (it knows {BLAKE3} and {SHA256}); upgrade "
            "headrace to read this artifact."
        )
    return SHA256


def file_hash(algorithm: str = CURRENT) -> FileHash:
    """A new hash of one file's bytes (the inner hash of a content hash)."""
    if algorithm == BLAKE3:
        return blake3.blake3()
    return hashlib.sha256()


def hash_bytes(data: Any, algorithm: str = CURRENT) -> str:
    """The inner hash (hex) of one file's whole bytes."""
    if algorithm == BLAKE3:
        return str(blake3.blake3(data).hexdigest())
    return hashlib.sha256(data).hexdigest()


def hash_local_file(path: str, algorithm: str = CURRENT) -> tuple[str, int]:
    """The inner hash and size of a local file, read in chunks (bounded memory)."""
    inner = file_hash(algorithm)
    size = 0
    buffer = memoryview(bytearray(_HASH_CHUNK))
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            inner.update(buffer[:count])
            size += count
    return inner.hexdigest(), size


class ContentHash:
    """An artifact's content hash, fed one file at a time in sorted order of names."""

    __slots__ = ("_outer", "algorithm")

    def __init__(self, algorithm: str = CURRENT) -> None:
        self.algorithm = algorithm
        self._outer = file_hash(algorithm)

    def add(self, relative: str, inner: str) -> None:
        """The next file: its name relative to the artifact and its inner hash."""
        self._outer.update(f"{relative}\0{inner}\n".encode())

    def value(self) -> str:
        """The content hash as it is recorded (with its algorithm's prefix)."""
        if self.algorithm == BLAKE3:
            outer = self._outer
            assert isinstance(outer, blake3.blake3)
            return _BLAKE3_PREFIX + str(outer.hexdigest(length=_BLAKE3_OUTER_BYTES))
        return self._outer.hexdigest()


def content_hash(files: Iterable[tuple[str, str]], algorithm: str = CURRENT) -> str:
    """The content hash of ``(relative name, inner hash)`` pairs (sorted here)."""
    outer = ContentHash(algorithm)
    for relative, inner in sorted(files):
        outer.add(relative, inner)
    return outer.value()


def hash_beside(views: Sequence[memoryview]) -> tuple[FileHash, threading.Thread]:
    """A hash of ``views`` in order, computed on a started second thread (the hash
    releases the GIL on large buffers, so it runs beside the caller's writes)."""
    hashed = file_hash()

    def run() -> None:
        for view in views:
            hashed.update(view)

    hasher = threading.Thread(target=run, daemon=True)
    hasher.start()
    return hashed, hasher


class _BackgroundHash:
    """One file hash fed buffer by buffer, each on a short-lived second thread.

    ``update`` waits for the previous buffer's hashing before it starts the next one,
    so a caller may reuse a buffer once the update after the one that handed it over
    returned (double buffering).
    """

    def __init__(self, hash_object: FileHash) -> None:
        self.hash = hash_object
        self.size = 0
        self._pending: threading.Thread | None = None

    def update(self, data: Any) -> None:
        self.wait()
        self.size += len(data)
        if len(data) < _PARALLEL_FROM:
            self.hash.update(data)
            return
        self._pending = threading.Thread(target=self.hash.update, args=(data,), daemon=True)
        self._pending.start()

    def wait(self) -> None:
        if self._pending is not None:
            self._pending.join()
            self._pending = None

    def hexdigest(self) -> str:
        self.wait()
        return str(self.hash.hexdigest())


def copy_hashing(
    source: int, target: int, size_hint: int = COPY_CHUNK, algorithm: str = CURRENT
) -> tuple[str, int]:
    """Copy from descriptor ``source`` (from its current offset to its end) to
    ``target`` (opened for reading and writing, at offset 0) and return the inner hash
    (``algorithm``) and size of the bytes written.

    The bytes are copied inside the kernel (``sendfile``, as ``shutil.copyfile`` does:
    several times faster here than reading them into Python and writing them out) while
    a second thread hashes the target's bytes right behind the copy, read back from the
    page cache: what is hashed is what the target holds. ``size_hint`` (the expected
    size) keeps the buffer of a small copy small.

    Raises:
        OSError: a read or write failed (a full disk included).
    """
    chunk_size = max(1 << 16, min(COPY_CHUNK, size_hint + 1))
    progress = _Progress(file_hash(algorithm))
    if size_hint < _PARALLEL_FROM:  # small: copy, then hash, on this thread
        _copy_with_sendfile(source, target, chunk_size, progress)
        progress.finish()
        progress.hash_behind(target, chunk_size)
        if progress.error is not None:
            raise progress.error
        return progress.hash.hexdigest(), progress.copied
    hasher = threading.Thread(target=progress.hash_behind, args=(target, chunk_size), daemon=True)
    hasher.start()
    try:
        _copy_with_sendfile(source, target, chunk_size, progress)
    finally:
        progress.finish()
        hasher.join()
    if progress.error is not None:
        raise progress.error
    return progress.hash.hexdigest(), progress.copied


def _copy_with_sendfile(source: int, target: int, chunk_size: int, progress: _Progress) -> None:
    while True:
        try:
            count = os.sendfile(target, source, None, chunk_size)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS) or progress.copied:
                raise
            _copy_through_memory(source, target, chunk_size, progress)
            return
        if not count:
            return
        progress.advance(count)


def _copy_through_memory(source: int, target: int, chunk_size: int, progress: _Progress) -> None:
    """The copy where ``sendfile`` between these two files is not supported."""
    buffer = memoryview(bytearray(chunk_size))
    while count := os.readv(source, [buffer]):
        written = 0
        while written < count:
            written += os.write(target, buffer[written:count])
        progress.advance(count)


class _Progress:
    """How far a copy got, and the hash of the target's bytes up to there."""

    def __init__(self, hash_object: FileHash) -> None:
        self.copied = 0
        self.hash = hash_object
        self.error: OSError | None = None
        self._done = False
        self._changed = threading.Condition()

    def advance(self, count: int) -> None:
        with self._changed:
            self.copied += count
            self._changed.notify()

    def finish(self) -> None:
        with self._changed:
            self._done = True
            self._changed.notify()

    def hash_behind(self, target: int, chunk_size: int) -> None:
        chunk_size = min(chunk_size, _HASH_BEHIND_READ)
        buffer = memoryview(bytearray(chunk_size))
        offset = 0
        try:
            while True:
                with self._changed:
                    while offset >= self.copied and not self._done:
                        self._changed.wait()
                    limit = self.copied
                    if offset >= limit and self._done:
                        return
                while offset < limit:
                    count = os.preadv(target, [buffer[: min(chunk_size, limit - offset)]], offset)
                    if not count:
                        raise OSError(errno.EIO, "the copy's target is shorter than written")
                    self.hash.update(buffer[:count])
                    offset += count
        except OSError as exc:
            self.error = exc


class StreamCheck:
    """The pending check of one large file during a load (see the module docstring)."""

    def __init__(self, path: str, size: int, algorithm: str = CURRENT) -> None:
        self.path = path
        self.size = size
        self.algorithm = algorithm
        self._hash = _BackgroundHash(file_hash(algorithm))
        self._broken = False
        self._known: tuple[str, int] | None = None
        self.outputs: list[str] = []
        """Local files written from the checked bytes (removed if the check fails)."""

    def feed(self, data: Any) -> None:
        """The next bytes of the file, in order from its start (hashed on a second
        thread: ``data`` must stay unchanged until the next ``feed`` or ``result``)."""
        if not self._broken:
            self._hash.update(data)

    def set_result(self, digest: str, size: int) -> None:
        """The file's whole hash, computed by the reader itself (``copy_hashing``)."""
        self._hash.wait()
        self._broken = size != self.size
        self._known = (digest, size)

    def abandon(self) -> None:
        """The reader skipped or re-read bytes: the file is hashed separately instead."""
        self._broken = True

    def result(self) -> tuple[str, int] | None:
        """``(inner hash, size)`` of the whole file if the reader fed exactly all of it."""
        if self._known is not None:
            return None if self._broken else self._known
        digest = self._hash.hexdigest()
        if self._broken or self._hash.size != self.size:
            return None
        return digest, self._hash.size
