"""Whether an artifact's bytes are still the ones that were recorded.

Every artifact version records the content hash of its directory (``ArtifactStore.digest``:
relative names and bytes of every file). Loading checks it, and a cache hit is only used
when its outputs pass it, so bytes changed, added, removed or truncated after the write are
never used silently. The check hashes with the very function that computed the recorded
hash, so both always agree on what "the artifact" is, and with the algorithm the record
names (BLAKE3 now, SHA-256 for versions recorded before: ``hashing.algorithm_of``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from headrace.artifact_stores.base import ArtifactStore, files_digest
from headrace.artifact_stores.hashing import ContentHash, StreamCheck, algorithm_of, hash_bytes
from headrace.artifacts.inline import decode_files
from headrace.exceptions import ArtifactError, ArtifactIntegrityError

ENV_VERIFY_ARTIFACTS = "HEADRACE_VERIFY_ARTIFACTS"
VERIFY_MODES = ("auto", "always", "never")


def verify_artifact(
    artifact_store: ArtifactStore,
    uri: str,
    content_hash: str | None,
    name: str = "artifact",
    inline: bytes | None = None,
) -> None:
    """Raise unless the files at ``uri`` exist and hash to ``content_hash``.

    An inline artifact (``inline``: the files kept in its record) is checked from those
    bytes alone; the artifact store is not looked at.

    A record without a hash (``None`` or empty) is checked for presence only.
    ``HEADRACE_VERIFY_ARTIFACTS`` chooses how: ``auto`` (the default) hashes the files
    unless this process hashed them and they are unchanged since (the local store's
    ``unchanged_digest``), ``always`` hashes them every time, ``never`` checks presence
    only (the recorded hash is then not checked at all).

    Raises:
        ArtifactError: the files are gone from the artifact store.
        ArtifactIntegrityError: the files differ from what was recorded; names the artifact.
    """
    if inline is not None:
        check_inline(inline, content_hash, name, uri)
        return
    mode = verify_mode()
    if not content_hash or mode == "never":
        if not artifact_store.exists(uri):
            raise _missing(name, uri)
        return
    known = artifact_store.unchanged_digest(uri) if mode == "auto" else None
    if known is not None and known[0] == content_hash:
        return
    algorithm = algorithm_of(content_hash)
    try:
        found, _size = artifact_store.digest(uri, algorithm)
    except FileNotFoundError as exc:
        raise _missing(name, uri) from exc
    except OSError as exc:
        raise _unreadable(name, uri, exc) from exc
    if found != content_hash and not artifact_store.exists(uri):
        raise _missing(name, uri)  # an fsspec store hashes a missing path as empty
    if found != content_hash:
        raise _changed(name, uri, found, content_hash)


SMALL_FILE = 1 << 20
"""Files up to this size are hashed before the load and their checked bytes kept for it."""
KEEP_BUDGET = 16 << 20
"""At most this many checked bytes are kept per load (the rest is read again)."""


class LoadCheck:
    """The check of one load, hashing each byte once: small files are hashed before the
    materializer runs and it is served exactly those bytes; large files are hashed
    before it runs too, unless the materializer reads them only as plain data (a numpy
    array, a file copied out), when they are hashed as it reads them (``streaming``)
    and the check is completed by :meth:`finish` before the value is handed out.
    """

    def __init__(self, artifact_store: ArtifactStore, uri: str, content_hash: str, name: str):
        self.store = artifact_store
        self.uri = uri
        self.content_hash = content_hash
        self.algorithm = algorithm_of(content_hash)
        self.name = name
        self._entries: list[tuple[str, str, tuple[str, int] | StreamCheck]] = []

    def start(self, streaming: bool) -> None:
        """Hash what must be hashed before the materializer runs (``end`` must follow).

        Raises:
            ArtifactError: the files are gone.
            ArtifactIntegrityError: they cannot be read.
        """
        store = self.store
        algorithm = self.algorithm
        try:
            files = store.files_for_check(self.uri)
            kept = 0
            for file, relative in files:
                size = store.size(file)
                found: tuple[str, int] | StreamCheck
                if size <= SMALL_FILE:
                    data = store.read_for_check(file)
                    found = (hash_bytes(data, algorithm), len(data))
                    if kept + len(data) <= KEEP_BUDGET:
                        store.keep_verified(file, data)
                        kept += len(data)
                elif streaming:
                    found = store.expect_stream(file, size, algorithm)
                else:
                    found = store.hash_file(file, algorithm)
                self._entries.append((file, relative, found))
        except FileNotFoundError as exc:
            raise _missing(self.name, self.uri) from exc
        except OSError as exc:
            raise _unreadable(self.name, self.uri, exc) from exc

    @property
    def streaming(self) -> bool:
        """Whether some file is left to be hashed while the materializer reads it."""
        return any(isinstance(found, StreamCheck) for _f, _r, found in self._entries)

    def finish(self) -> None:
        """Complete the hash (files the materializer did not read whole are hashed now)
        and compare it with the record.

        Raises:
            ArtifactIntegrityError: the bytes differ from the recorded content hash.
        """
        outer = ContentHash(self.algorithm)
        for file, relative, found in self._entries:
            if isinstance(found, StreamCheck):
                whole = found.result()
                if whole is None:
                    try:
                        whole = self.store.hash_file(file, self.algorithm)
                    except OSError as exc:
                        raise _unreadable(self.name, self.uri, exc) from exc
                found = whole
            outer.add(relative, found[0])
        digest = outer.value()
        if digest != self.content_hash:
            raise _changed(self.name, self.uri, digest, self.content_hash)

    def discard_outputs(self) -> None:
        """Remove local files written from bytes that failed the check."""
        for _file, _relative, found in self._entries:
            if isinstance(found, StreamCheck):
                for output in found.outputs:
                    with contextlib.suppress(OSError):
                        os.remove(output)

    def end(self) -> None:
        """Forget the kept bytes and pending checks (always called)."""
        self.store.end_check([file for file, _r, _f in self._entries])


def check_load(
    artifact_store: ArtifactStore,
    uri: str,
    content_hash: str | None,
    name: str,
    load: Any,
    streaming: bool = False,
) -> Any:
    """``load()`` (the materializer's load) with the artifact's bytes checked against
    ``content_hash``: the value is returned only if they match, under the same
    ``HEADRACE_VERIFY_ARTIFACTS`` modes as :func:`verify_artifact`. ``streaming`` allows
    large files to be hashed while ``load`` reads them (only for materializers that
    read them as plain data, never to run code from them).

    Raises:
        ArtifactError: the files are gone from the artifact store.
        ArtifactIntegrityError: the files differ from what was recorded.
    """
    mode = verify_mode()
    if not content_hash or mode == "never":
        if not artifact_store.exists(uri):
            raise _missing(name, uri)
        return load()
    if mode == "auto":
        known = artifact_store.unchanged_digest(uri)
        if known is not None and known[0] == content_hash:
            return load()
    check = LoadCheck(artifact_store, uri, content_hash, name)
    try:
        check.start(streaming)
        if not check.streaming:
            check.finish()  # everything is hashed: a mismatch is refused before the load
        try:
            value = load()
        except Exception as exc:
            # Bytes that fail the check explain a failed load better than its own error.
            check.finish()
            raise exc
        check.finish()
    except BaseException:
        check.discard_outputs()
        raise
    finally:
        check.end()
    return value


def check_inline(inline: bytes, content_hash: str | None, name: str, uri: str) -> dict[str, bytes]:
    """The files of an inline artifact, once they hash to ``content_hash`` (unless
    ``HEADRACE_VERIFY_ARTIFACTS=never`` or the record has no hash).

    Raises:
        ArtifactIntegrityError: the record's bytes are garbled or differ from the hash.
    """
    files = decode_files(inline, name)
    if content_hash and verify_mode() != "never":
        found, _size = files_digest(files, algorithm_of(content_hash))
        if found != content_hash:
            raise _changed(name, f"{uri} (kept inline in its record)", found, content_hash)
    return files


def verify_mode() -> str:
    """``HEADRACE_VERIFY_ARTIFACTS``: ``auto`` (default), ``always`` or ``never``.

    Raises:
        ArtifactError: another value.
    """
    mode = os.environ.get(ENV_VERIFY_ARTIFACTS, "auto").strip().lower() or "auto"
    if mode not in VERIFY_MODES:
        raise ArtifactError(
            f"{ENV_VERIFY_ARTIFACTS}={mode!r}: expected one of {', '.join(VERIFY_MODES)}."
        )
    return mode


def _unreadable(name: str, uri: str, exc: OSError) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(f"The files of {name} at {uri} cannot be read whole: {exc}.")


def _changed(name: str, uri: str, found: str, recorded: str) -> ArtifactIntegrityError:
    return ArtifactIntegrityError(
        f"The files of {name} at {uri} were changed after they were written: their "
        f"content hash is {found[:16]}..., the store recorded {recorded[:16]}.... "
        "Re-run the step that produced it (or delete this version)."
    )


def _missing(name: str, uri: str) -> ArtifactError:
    return ArtifactError(
        f"The files of {name} are missing from the artifact store (expected at {uri}). "
        "They were deleted or the artifact store moved."
    )


def artifact_is_whole(
    artifact_store: ArtifactStore,
    uri: str,
    content_hash: str | None,
    inline: bytes | None = None,
) -> bool:
    """Whether the artifact at ``uri`` (or kept ``inline``) is present and matches
    ``content_hash``."""
    try:
        verify_artifact(artifact_store, uri, content_hash, inline=inline)
    except ArtifactError:
        return False
    return True
