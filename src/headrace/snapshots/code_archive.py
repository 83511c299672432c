"""Content-addressed archives of a project's source code.

The archive holds the files under the source root that git would track (tracked and
untracked-but-not-ignored files when the root is in a git work tree; otherwise every
file but the usual caches and virtual environments), never ``.headrace/``. Its id is the
hash of a manifest of relative paths and file hashes, so the same code is stored once
however many snapshots use it, and the archive bytes are reproducible.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from headrace.artifact_stores.base import ArtifactStore
from headrace.exceptions import SnapshotError
from headrace.utils.terminal import headrace_logger

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


UPLOAD_CHUNK_BYTES = 1024 * 1024
REPORTED_UPLOAD_BYTES = 4 * UPLOAD_CHUNK_BYTES  # smaller archives: a line before and after

logger = headrace_logger()


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


def manifest_digest(root: Path, files: list[str]) -> tuple[str, int]:
    """The archive digest of ``files`` (relative to ``root``) and their total size: a hash
    over each relative path and the hash of its bytes, in the order given."""
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
    digest, size = manifest_digest(root, files)
    if size > MAX_ARCHIVE_BYTES:
        raise SnapshotError(
            f"The code under {root} is {size / 1e6:.0f} MB; snapshots archive source code, "
            "not data. Add large files to .gitignore or move them out of the project."
        )
    uri = artifact_store.join(artifact_store.path, "code", f"{digest}.tar.gz")
    if not artifact_store.exists(uri):
        _upload(_tarball(root, files), uri, artifact_store, len(files))
    return CodeArchive(
        digest=digest, uri=uri, files=len(files), size=size, modules=top_level_modules(files)
    )


def _upload(data: bytes, uri: str, artifact_store: ArtifactStore, files: int) -> None:
    """Write the archive in chunks, saying on the terminal what is uploaded and how far
    it got (every quarter, for archives large enough to take a while)."""
    started = time.monotonic()
    logger.info("Uploading the code archive (%d files, %s) to %s.", files, _size(len(data)), uri)
    temporary = f"{uri}.tmp-{os.getpid()}"
    shown = 0
    with artifact_store.open(temporary, "wb") as handle:
        for offset in range(0, len(data), UPLOAD_CHUNK_BYTES):
            handle.write(data[offset : offset + UPLOAD_CHUNK_BYTES])
            done = min(offset + UPLOAD_CHUNK_BYTES, len(data))
            quarter = done * 4 // len(data)
            if len(data) >= REPORTED_UPLOAD_BYTES and quarter > shown and done < len(data):
                shown = quarter
                logger.info("  %d%% of the code archive uploaded.", quarter * 25)
    artifact_store.rename(temporary, uri)
    logger.info("Uploaded the code archive in %.1f s.", time.monotonic() - started)


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KiB" if count < 1024 * 1024 else f"{count / 1024**2:.1f} MiB"
