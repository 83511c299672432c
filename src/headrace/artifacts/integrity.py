"""Whether an artifact's bytes are still the ones that were recorded.

Every artifact version records the content hash of its directory (``ArtifactStore.digest``:
relative names and bytes of every file). Loading checks it, and a cache hit is only used
when its outputs pass it, so bytes changed, added, removed or truncated after the write are
never used silently. The check hashes with the very function that computed the recorded
hash, so both always agree on what "the artifact" is.
"""

from __future__ import annotations

import os

from headrace.artifact_stores.base import ArtifactStore
from headrace.exceptions import ArtifactError, ArtifactIntegrityError

ENV_VERIFY_ARTIFACTS = "HEADRACE_VERIFY_ARTIFACTS"
VERIFY_MODES = ("auto", "always", "never")


def verify_artifact(
    artifact_store: ArtifactStore, uri: str, content_hash: str | None, name: str = "artifact"
) -> None:
    """Raise unless the files at ``uri`` exist and hash to ``content_hash``.

    A record without a hash (``None`` or empty) is checked for presence only.
    ``HEADRACE_VERIFY_ARTIFACTS`` chooses how: ``auto`` (the default) hashes the files
    unless this process hashed them and they are unchanged since (the local store's
    ``unchanged_digest``), ``always`` hashes them every time, ``never`` checks presence
    only (the recorded hash is then not checked at all).

    Raises:
        ArtifactError: the files are gone from the artifact store.
        ArtifactIntegrityError: the files differ from what was recorded; names the artifact.
    """
    mode = verify_mode()
    if not content_hash or mode == "never":
        if not artifact_store.exists(uri):
            raise _missing(name, uri)
        return
    known = artifact_store.unchanged_digest(uri) if mode == "auto" else None
    if known is not None and known[0] == content_hash:
        return
    try:
        found, _size = artifact_store.digest(uri)
    except FileNotFoundError as exc:
        raise _missing(name, uri) from exc
    except OSError as exc:
        raise ArtifactIntegrityError(
            f"The files of {name} at {uri} cannot be read whole: {exc}."
        ) from exc
    if found != content_hash and not artifact_store.exists(uri):
        raise _missing(name, uri)  # an fsspec store hashes a missing path as empty
    if found != content_hash:
        raise ArtifactIntegrityError(
            f"The files of {name} at {uri} were changed after they were written: their "
            f"content hash is {found[:16]}..., the store recorded {content_hash[:16]}.... "
            "Re-run the step that produced it (or delete this version)."
        )


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


def _missing(name: str, uri: str) -> ArtifactError:
    return ArtifactError(
        f"The files of {name} are missing from the artifact store (expected at {uri}). "
        "They were deleted or the artifact store moved."
    )


def artifact_is_whole(artifact_store: ArtifactStore, uri: str, content_hash: str | None) -> bool:
    """Whether the artifact at ``uri`` is present and matches ``content_hash``."""
    try:
        verify_artifact(artifact_store, uri, content_hash)
    except ArtifactError:
        return False
    return True
