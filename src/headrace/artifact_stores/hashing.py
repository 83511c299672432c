"""Hashing bytes while they move, so no artifact is read a second time to hash it.

An artifact's content hash (``ArtifactStore.digest``) is a SHA-256 over each file's
relative name and the SHA-256 of its bytes. The helpers here compute a file's inner hash
from the very bytes that are being written or read, beside the transfer: a second thread
hashes them while the transfer goes on (``hashlib`` releases the GIL on large buffers,
so both run at once on two cores).

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
from typing import Any

COPY_CHUNK = 8 << 20
"""Bytes per read and write of a hashed copy (two such buffers are in use at once)."""
_PARALLEL_FROM = 1 << 20  # below this a second thread costs more than it saves


class _BackgroundHash:
    """One SHA-256 fed buffer by buffer, each on a short-lived second thread.

    ``update`` waits for the previous buffer's hashing before it starts the next one,
    so a caller may reuse a buffer once the update after the one that handed it over
    returned (double buffering).
    """

    def __init__(self, hash_object: Any | None = None) -> None:
        self.hash = hash_object if hash_object is not None else hashlib.sha256()
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


def copy_hashing(source: int, target: int, size_hint: int = COPY_CHUNK) -> tuple[str, int]:
    """Copy from descriptor ``source`` (from its current offset to its end) to
    ``target`` (opened for reading and writing, at offset 0) and return the SHA-256 and
    size of the bytes written.

    The bytes are copied inside the kernel (``sendfile``, as ``shutil.copyfile`` does:
    several times faster here than reading them into Python and writing them out) while
    a second thread hashes the target's bytes right behind the copy, read back from the
    page cache: what is hashed is what the target holds. ``size_hint`` (the expected
    size) keeps the buffer of a small copy small.

    Raises:
        OSError: a read or write failed (a full disk included).
    """
    chunk_size = max(1 << 16, min(COPY_CHUNK, size_hint + 1))
    progress = _Progress()
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

    def __init__(self) -> None:
        self.copied = 0
        self.hash = hashlib.sha256()
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

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._hash = _BackgroundHash()
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
        """``(sha256, size)`` of the whole file if the reader fed exactly all of it."""
        if self._known is not None:
            return None if self._broken else self._known
        digest = self._hash.hexdigest()
        if self._broken or self._hash.size != self.size:
            return None
        return digest, self._hash.size
