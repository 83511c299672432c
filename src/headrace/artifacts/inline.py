"""Small artifacts kept inside their artifact version's database record.

Writing a step's ``int`` as files costs a directory, a file and a rename, far more than
its few bytes; on a run of thousands of small steps that is a large part of the run.
So when a materializer writes only through the store and its files total at most
``HEADRACE_ARTIFACT_INLINE_MAX_BYTES`` (default 16 KiB; ``0`` turns this off), the files
are recorded in the version's ``inline_content`` instead, and nothing is written to the
artifact store. The version's ``uri`` stays the directory the files would have had, and
its content hash is exactly the hash the same files would have on disk
(``headrace.artifact_stores.base.files_digest``), so cache keys and equal values hash the
same either way.

The encoding of the files (one module, so every reader agrees)::

    b"HRI1"                      magic and format version
    then, per file, sorted by name:
      4 bytes  big-endian length of the name, then the name (UTF-8, relative, ``/``)
      4 bytes  big-endian length of the bytes, then the bytes

Nothing else: no pickles, no code. A record whose bytes do not follow this exactly is
refused with ``ArtifactIntegrityError`` naming the artifact version.
"""

from __future__ import annotations

import struct

from headrace.artifact_stores.memory import clean_relative
from headrace.exceptions import ArtifactIntegrityError
from headrace.utils.env import ENV_ARTIFACT_INLINE_MAX_BYTES, env_number

MAGIC = b"HRI1"
DEFAULT_INLINE_MAX_BYTES = 16 * 1024
"""Files of an artifact up to this many bytes in total are kept in its record."""
_LENGTH = struct.Struct(">I")


def inline_limit() -> int:
    """``HEADRACE_ARTIFACT_INLINE_MAX_BYTES``: the largest artifact (its files' bytes in
    total) kept in the database record; ``0`` keeps every artifact in the artifact store.

    Raises:
        ConfigurationError: the variable is not a number of at least 0.
    """
    return int(env_number(ENV_ARTIFACT_INLINE_MAX_BYTES, DEFAULT_INLINE_MAX_BYTES))


def encode_files(files: dict[str, bytes]) -> bytes:
    """The record's bytes for ``files`` (relative name -> bytes)."""
    parts = [MAGIC]
    for name in sorted(files):
        encoded = name.encode()
        data = files[name]
        parts += [_LENGTH.pack(len(encoded)), encoded, _LENGTH.pack(len(data)), data]
    return b"".join(parts)


def decode_files(content: bytes, what: str) -> dict[str, bytes]:
    """The files encoded in ``content``; ``what`` names the artifact version in errors.

    Raises:
        ArtifactIntegrityError: ``content`` is not a well-formed encoding (wrong magic,
            lengths past its end, a name that is not a clean relative path, a name given
            twice or a file below another file, bytes left over).
    """
    view = memoryview(content)
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise _garbled(what, "it does not start with the inline format's marker")
    files: dict[str, bytes] = {}
    offset = len(MAGIC)
    while offset < len(view):
        name_bytes, offset = _chunk(view, offset, what)
        data, offset = _chunk(view, offset, what)
        try:
            name = name_bytes.decode()
        except UnicodeDecodeError:
            raise _garbled(what, "a file name is not UTF-8") from None
        if not clean_relative(name):
            raise _garbled(what, f"the file name {name!r} is not a plain relative path")
        if name in files or any(
            other.startswith(name + "/") or name.startswith(other + "/") for other in files
        ):
            raise _garbled(what, f"the file name {name!r} clashes with another one")
        files[name] = data
    return files


def _chunk(view: memoryview, offset: int, what: str) -> tuple[bytes, int]:
    if offset + _LENGTH.size > len(view):
        raise _garbled(what, "it ends inside a length field")
    (length,) = _LENGTH.unpack_from(view, offset)
    start = offset + _LENGTH.size
    if start + length > len(view):
        raise _garbled(what, f"a length of {length} bytes runs past its end")
    return bytes(view[start : start + length]), start + length


def _garbled(what: str, reason: str) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(
        f"The inline bytes recorded for {what} are not a valid inline artifact: {reason}. "
        "The record was damaged; re-run the step that produced it (or delete this version)."
    )
