"""Content-addressed archives of a project's source code.

The archive holds the files under the source root that git would track (tracked and
untracked-but-not-ignored files when the root is in a git work tree; otherwise every
file but the usual caches and virtual environments), never ``.headrace/``. Its id is the
hash of a manifest of relative paths and file hashes, so the same code is stored once
however many snapshots use it, and the archive bytes are reproducible.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from headrace.artifact_stores.base import ArtifactStore
from headrace.exceptions import SnapshotError

logger = logging.getLogger("headrace")

ALWAYS_SKIPPED = frozenset(
    {
        ".headrace",
        ".git",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        "node_modules",
        ".tox",
        ".eggs",
    }
)
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
COMPLETE_MARKER = ".complete"
# Files that hold credentials are never archived, whatever git says about them: a snapshot
# is shared with everyone who may run it.
SECRET_SUFFIXES = (".key", ".pem", ".p12", ".pfx", ".keystore")
SECRET_NAMES = frozenset({"id_rsa", "id_ecdsa", "id_ed25519", "id_dsa", ".netrc", ".pgpass"})


def is_secret_file(name: str) -> bool:
    """Whether a file name looks like credentials: ``.env`` files, keys, certificates."""
    lowered = name.lower()
    return (
        lowered == ".env"
        or lowered.startswith(".env.")
        or lowered.endswith(SECRET_SUFFIXES)
        or lowered in SECRET_NAMES
    )


@dataclass(frozen=True)
class CodeArchive:
    """A stored archive: its content hash, where it lives, how many files and bytes."""

    digest: str
    uri: str
    files: int
    size: int
    modules: tuple[str, ...] = ()


def top_level_modules(files: Sequence[str]) -> tuple[str, ...]:
    """The importable top-level module and package names among archived files, sorted:
    what code of the snapshot itself may be named (``x.py`` -> ``x``, ``pkg/m.py`` -> ``pkg``)."""
    names = set()
    for relative in files:
        parts = Path(relative).parts
        if not parts[-1].endswith(".py"):
            continue
        head = parts[0].removesuffix(".py") if len(parts) == 1 else parts[0]
        if head.isidentifier():
            names.add(head)
    return tuple(sorted(names))


def _git_files(root: Path) -> list[str] | None:
    try:
        result = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return [p for p in result.stdout.decode().split("\0") if p]


def _walk_files(root: Path) -> list[str]:
    files = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ALWAYS_SKIPPED and not d.endswith(".egg-info"))
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            files.append(os.path.relpath(os.path.join(directory, name), root))
    return files


def project_files(root: Path, exclude: Sequence[str | Path] = ()) -> list[str]:
    """Relative paths of the files that make up the project at ``root``, sorted.

    Never included: ``.headrace`` and the other always-skipped directories, credential
    files (:func:`is_secret_file`), and whatever lies at or below a path in ``exclude``
    (the store's database, key and artifact directory when they sit inside the project).
    """
    listed = _git_files(root) if (root / ".git").exists() else None
    files = listed if listed is not None else _walk_files(root)
    resolved_root = root.resolve()
    excluded = set()
    for path in exclude:
        full = Path(path).resolve()
        if full.is_relative_to(resolved_root):
            excluded.add(full.relative_to(resolved_root).parts)
    kept = []
    for relative in files:
        parts = Path(relative).parts
        if any(part in ALWAYS_SKIPPED for part in parts) or is_secret_file(parts[-1]):
            continue
        if any(parts[: len(prefix)] == prefix for prefix in excluded):
            continue
        if (root / relative).is_file():
            kept.append(relative)
    return sorted(kept)


def _manifest(root: Path, files: list[str]) -> tuple[str, int]:
    outer = hashlib.sha256()
    total = 0
    for relative in files:
        data = (root / relative).read_bytes()
        total += len(data)
        outer.update(f"{relative}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return outer.hexdigest(), total


def _tarball(root: Path, files: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for relative in files:
            info = archive.gettarinfo(str(root / relative), arcname=relative)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o644 | (info.mode & 0o111)
            with open(root / relative, "rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def archive_code(
    root: Path, artifact_store: ArtifactStore, exclude: Sequence[str | Path] = ()
) -> CodeArchive:
    """Store the code under ``root`` (once per distinct content) and describe it.

    ``exclude``: files and directories never to archive (see :func:`project_files`); the
    artifact store's own root is always excluded when it is a local directory.
    """
    local_root = artifact_store.path if "://" not in artifact_store.path else None
    files = project_files(root, [*exclude, *([local_root] if local_root else [])])
    if not files:
        raise SnapshotError(f"No source files found under {root} to put in the snapshot.")
    digest, size = _manifest(root, files)
    if size > MAX_ARCHIVE_BYTES:
        raise SnapshotError(
            f"The code under {root} is {size / 1e6:.0f} MB; snapshots archive source code, "
            "not data. Add large files to .gitignore or move them out of the project."
        )
    uri = artifact_store.join(artifact_store.path, "code", f"{digest}.tar.gz")
    if not artifact_store.exists(uri):
        temporary = f"{uri}.tmp-{os.getpid()}"
        with artifact_store.open(temporary, "wb") as handle:
            handle.write(_tarball(root, files))
        artifact_store.rename(temporary, uri)
    return CodeArchive(
        digest=digest, uri=uri, files=len(files), size=size, modules=top_level_modules(files)
    )


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
    return _manifest(directory, [f for f in files if f != COMPLETE_MARKER])[0]


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
