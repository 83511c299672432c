"""Random ids for the records a run writes per step.

``str(uuid.uuid4())`` asks the kernel for 16 random bytes (a system call) and builds a
``UUID`` object for each id; a step writes two or three. Here the bytes come from one
``os.urandom`` call per 256 ids, and the string is formatted directly: the same
version 4 UUIDs, from the same source of randomness. A forked child drops the parent's
buffer, so the two never hand out the same id.
"""

from __future__ import annotations

import os
import threading

_IDS_PER_READ = 256
_lock = threading.Lock()
_buffer = b""
_offset = 0

_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def random_id() -> str:
    """A new random (version 4) UUID as its canonical 36-character string."""
    global _buffer, _offset
    with _lock:
        if _offset >= len(_buffer):
            _buffer = os.urandom(16 * _IDS_PER_READ)
            _offset = 0
        start = _offset
        _offset = start + 16
        chunk = _buffer[start : start + 16]
    text = f"{(int.from_bytes(chunk, 'big') & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _forget_buffer() -> None:
    global _buffer, _offset
    _buffer, _offset = b"", 0


os.register_at_fork(after_in_child=_forget_buffer)
