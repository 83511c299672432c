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


def project_files(root: Path) -> list[str]:
    """Relative paths of the files that make up the project at ``root``, sorted."""
    listed = _git_files(root) if (root / ".git").exists() else None
    files = listed if listed is not None else _walk_files(root)
    kept = []
    for relative in files:
        parts = Path(relative).parts
        if any(part in ALWAYS_SKIPPED for part in parts):
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


def archive_code(root: Path, artifact_store: ArtifactStore) -> CodeArchive:
    """Store the code under ``root`` (once per distinct content) and describe it."""
    files = project_files(root)
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
        _upload(_tarball(root, files), uri, artifact_store, len(files))
    return CodeArchive(digest=digest, uri=uri, files=len(files), size=size)


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


def extract_code(
    archive: CodeArchive | dict[str, object], artifact_store: ArtifactStore, cache_root: Path
) -> Path:
    """Unpack an archive into ``cache_root/<digest>`` (once) and return that directory."""
    digest = str(archive["digest"] if isinstance(archive, dict) else archive.digest)
    uri = str(archive["uri"] if isinstance(archive, dict) else archive.uri)
    target = cache_root / digest
    if (target / ".complete").exists():
        return target
    if not artifact_store.exists(uri):
        raise SnapshotError(
            f"The code archive {digest[:12]} of this snapshot is missing from the artifact "
            f"store ({uri}); recreate the snapshot from its source."
        )
    staging = cache_root / f".{digest}.{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    with artifact_store.open(uri, "rb") as handle:
        data = handle.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive_file:
        archive_file.extractall(staging, filter="data")
    (staging / ".complete").touch()
    try:
        os.rename(staging, target)
    except OSError:  # another process extracted it first
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target
