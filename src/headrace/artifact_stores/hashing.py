"""Hashing bytes while they move, so no artifact is read a second time to hash it.

An artifact's content hash (``ArtifactStore.digest``) is a SHA-256 over each file's
relative name and the SHA-256 of its bytes. The helpers here compute a file's inner hash
from the very bytes that are being written or read, beside the transfer: a second thread
hashes one buffer while the next is read (``hashlib`` releases the GIL on large buffers,
so both run at once on two cores).

* :func:`copy_hashing` copies between two file descriptors and hashes what it wrote
  (a file copied into a store, a file copied out of one).
* :class:`StreamCheck` is a file's pending check during a load: the reader feeds it the
  bytes it used, in order, and the load's check uses its hash when it saw the whole file
  (else the file is hashed separately, so a partial reader never weakens the check).
"""

from __future__ import annotations

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
    ``target`` and return the SHA-256 and size of the bytes written. ``size_hint`` (the
    expected size) keeps the buffers of a small copy small.

    Raises:
        OSError: a read or write failed (a full disk included).
    """
    chunk_size = max(1 << 16, min(COPY_CHUNK, size_hint + 1))
    buffers = (bytearray(chunk_size), bytearray(chunk_size))
    hasher = _BackgroundHash()
    turn = 0
    while True:
        view = memoryview(buffers[turn])
        count = os.readv(source, [view])
        if not count:
            break
        chunk = view[:count]
        written = 0
        while written < count:
            written += os.write(target, chunk[written:])
        hasher.update(chunk)  # hashed while the next buffer is read and written
        turn ^= 1
    return hasher.hexdigest(), hasher.size


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
