"""The local cache of unpacked snapshot code, and the checks that keep it trustworthy.

A snapshot run imports the code it archived, unpacked into ``<cache>/<digest>``. Code from
there runs as the user, so the cache is private to the user (mode 0700, owner checked)
and nothing in it is used unless it hashes to the digest the snapshot recorded: when it is
unpacked (a replaced archive is refused) and every time it is reused (an altered entry is
unpacked again; bytecode, which the digest does not cover, is dropped).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
from pathlib import Path

from headrace.artifact_stores.base import ArtifactStore
from headrace.exceptions import SnapshotError
from headrace.snapshots.code_archive import CodeArchive, manifest_digest
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()

COMPLETE_MARKER = ".complete"


def private_directory(path: Path) -> Path:
    """``path`` as a directory only this user can read or write (mode 0700), made if missing.

    An existing directory owned by this user with looser permissions is tightened and
    emptied (anything in it may have been planted while it was open). A symlink, a file,
    or a directory owned by someone else is refused: code from there would run as us.

    Raises:
        SnapshotError: ``path`` cannot be made private to this user.
    """
    import shutil
    import stat

    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SnapshotError(f"The code cache {path} is not a plain directory; remove it.")
    if info.st_uid != os.getuid():
        raise SnapshotError(
            f"The code cache {path} belongs to user id {info.st_uid}, not to this user "
            f"({os.getuid()}); refusing to run code from it. Remove it or use another store."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        shutil.rmtree(path)
        path.mkdir(mode=0o700)
    return path


def default_code_cache(artifact_store: ArtifactStore) -> Path:
    """Where a store's snapshot code is unpacked: next to a local artifact store, else in
    this user's own cache directory (never a shared temporary directory)."""
    root = Path(artifact_store.path)
    if "://" not in artifact_store.path and root.is_absolute():
        return root.parent / "code-cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "headrace" / "code-cache"


def _content_digest(directory: Path) -> str:
    """The archive digest of the files below ``directory`` (as :func:`archive_code` made it)."""
    files = sorted(
        os.path.relpath(os.path.join(folder, name), directory)
        for folder, _dirs, names in os.walk(directory)
        for name in names
    )
    return manifest_digest(directory, [f for f in files if f != COMPLETE_MARKER])[0]


def _drop_bytecode(directory: Path) -> None:
    """Remove ``__pycache__`` directories: bytecode is not covered by the digest, so none
    found in the cache is trusted (Python writes fresh ones from the verified sources)."""
    import shutil

    for folder, dirs, _names in os.walk(directory):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(folder, "__pycache__"), ignore_errors=True)
            dirs.remove("__pycache__")


def _verified(target: Path, digest: str) -> bool:
    """Whether a cached entry holds exactly the archived files (anything else is removed
    by the caller and unpacked again)."""
    if not (target / COMPLETE_MARKER).is_file() or target.is_symlink():
        return False
    _drop_bytecode(target)
    return _content_digest(target) == digest


def extract_code(
    archive: CodeArchive | dict[str, object], artifact_store: ArtifactStore, cache_root: Path
) -> Path:
    """Unpack an archive into ``cache_root/<digest>`` and return that directory.

    ``cache_root`` is made private to this user; the unpacked files must hash to the
    archive's digest, both when they are unpacked (a replaced archive is refused) and each
    time a cached entry is reused (an altered entry is unpacked again), so no code runs
    that was not verified against the snapshot.

    Raises:
        SnapshotError: the archive is missing or its content does not match its digest.
    """
    import shutil

    digest = str(archive["digest"] if isinstance(archive, dict) else archive.digest)
    uri = str(archive["uri"] if isinstance(archive, dict) else archive.uri)
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise SnapshotError(f"The code archive digest {digest!r} is not a SHA-256 digest.")
    private_directory(cache_root)
    target = cache_root / digest
    if _verified(target, digest):
        return target
    if target.exists() or target.is_symlink():
        logger.warning("The cached code %s does not match its digest; unpacking it again.", target)
        if target.is_symlink() or not target.is_dir():
            target.unlink()
        else:
            shutil.rmtree(target, ignore_errors=True)
    if not artifact_store.exists(uri):
        raise SnapshotError(
            f"The code archive {digest[:12]} of this snapshot is missing from the artifact "
            f"store ({uri}); recreate the snapshot from its source."
        )
    staging = cache_root / f".{digest}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        with artifact_store.open(uri, "rb") as handle:
            data = handle.read()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive_file:
            archive_file.extractall(staging, filter="data")
        found = _content_digest(staging)
        if found != digest:
            raise SnapshotError(
                f"The code archive at {uri} does not hold the code this snapshot recorded "
                f"(digest {found[:12]}..., expected {digest[:12]}...): it was replaced or "
                "altered. Refusing to run it; recreate the snapshot from its source."
            )
        (staging / COMPLETE_MARKER).touch()
        os.rename(staging, target)
    except OSError:
        if not _verified(target, digest):  # not another process's verified extraction
            raise
    except (tarfile.TarError, EOFError) as exc:
        raise SnapshotError(f"The code archive at {uri} cannot be unpacked: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
