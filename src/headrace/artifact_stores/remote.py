"""Artifact stores in object storage (S3 and S3-compatible servers, GCS, Azure Blob).

All three flavors share one code path, :class:`RemoteArtifactStore`, over the fsspec
filesystem of their protocol (``s3fs``, ``gcsfs``, ``adlfs``, imported only when a store
of that flavor is first used). What differs from a local directory:

* **No rename.** Object stores have no atomic rename (a "move" is a copy of every byte
  plus a delete), so ``save_value`` writes an artifact straight at its final, unique key
  (``atomic_rename`` is false). The completion marker is the artifact version row the
  caller records after the write returned: no metadata ever points at partial bytes,
  and a failed write's keys are deleted.
* **Streaming in parts.** A file written through :meth:`RemoteArtifactStore.open` is
  hashed as it is written and kept in memory only while it is small; a large one spills
  to a local temporary file that is uploaded in parallel parts (``max_concurrency`` parts
  of ``chunk_size_mb`` each) when it is closed. Large reads stream into an unlinked
  temporary file: on S3 one GET by default, or ranged parts that each stream to their
  offset (``download_concurrency``), so memory stays bounded by the parts in flight
  whatever the artifact's size.
* **No second pass to hash.** ``digest`` reuses the hashes taken while writing (a
  second thread hashes a local file while it is uploaded) instead of downloading what
  was just uploaded.
* **Progress.** Transfers of at least 64 MiB show a Rich progress bar when stderr is a
  terminal (nothing otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import posixpath
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import IO, Any, ClassVar

from headrace.artifact_stores.base import (
    FileHasher,
    FsspecArtifactStore,
    register_remote_store,
)
from headrace.artifact_stores.hashing import CURRENT, file_hash, hash_beside, hash_local_file
from headrace.exceptions import StackComponentError
from headrace.stacks.configs import (
    AzureArtifactStoreConfig,
    GCSArtifactStoreConfig,
    RemoteArtifactStoreConfig,
    S3ArtifactStoreConfig,
)

_MIB = 1 << 20
_HASH_CHUNK = 4 * _MIB
_STREAM_CHUNK = 1 * _MIB
"""How much of a downloaded part is held at once: each part streams to disk."""
PROGRESS_THRESHOLD = 64 * _MIB
"""Transfers at least this large show a progress bar (on a terminal)."""

SecretLookup = Callable[[str], dict[str, str]]


class RemoteArtifactStore(FsspecArtifactStore):
    """Artifacts below a URL of an object store, through its fsspec filesystem."""

    atomic_rename = False
    PROTOCOL: ClassVar[str] = ""
    PACKAGE: ClassVar[str] = ""
    EXTRA: ClassVar[str] = ""

    def __init__(
        self,
        path: str,
        fs: Any,
        id: str | None = None,
        *,
        chunk_size: int = 8 * _MIB,
        max_concurrency: int = 4,
    ) -> None:
        # The filesystem is built from the component's configuration, not from the URL.
        self._protocol = path.split("://", 1)[0]
        super(FsspecArtifactStore, self).__init__(path.rstrip("/"), id)
        self.fs = fs
        self._root = posixpath.normpath("/" + str(fs._strip_protocol(self.path)).strip("/"))
        self.chunk_size = chunk_size
        self.max_concurrency = max_concurrency
        self._lock = threading.Lock()

    # -- construction from a stack component -----------------------------------------
    @classmethod
    def from_config(
        cls,
        config: RemoteArtifactStoreConfig,
        id: str | None = None,
        secrets: SecretLookup | None = None,
    ) -> RemoteArtifactStore:
        """The store a component configuration describes (registered by its root URL).

        Raises:
            StackComponentError: the fsspec package of the protocol is not installed, or
                the named secret cannot be read.
        """
        secret: dict[str, str] = {}
        if config.authentication_secret:
            if secrets is None:
                raise StackComponentError(
                    f"Artifact store {config.path!r} names secret "
                    f"{config.authentication_secret!r}, but no store is at hand to read it."
                )
            try:
                secret = secrets(config.authentication_secret)
            except Exception as exc:
                raise StackComponentError(
                    f"Artifact store {config.path!r}: secret "
                    f"{config.authentication_secret!r} cannot be read: {exc}"
                ) from exc
        options = cls.storage_options(config, secret)
        try:
            import fsspec

            fs = fsspec.filesystem(cls.PROTOCOL, **options)
        except ImportError as exc:
            raise StackComponentError(
                f"Artifact store {config.path!r} needs the {cls.PACKAGE!r} package: "
                f"pip install 'headrace[{cls.EXTRA}]' ({exc})."
            ) from exc
        store = cls(
            config.path,
            fs,
            id,
            chunk_size=config.chunk_size_mb * _MIB,
            max_concurrency=config.max_concurrency,
        )
        store.configure(config)
        register_remote_store(store)
        return store

    def configure(self, config: RemoteArtifactStoreConfig) -> None:
        """Take the flavor's own settings from its configuration (none by default)."""
        return None

    @classmethod
    def storage_options(
        cls, config: RemoteArtifactStoreConfig, secret: dict[str, str]
    ) -> dict[str, Any]:
        """Keyword arguments of the fsspec filesystem (credentials included)."""
        return {}

    def transfer_options(self, download: bool = False) -> dict[str, Any]:
        """Keyword arguments of ``put_file``/``get_file`` that split a file into parts."""
        return {}

    # -- writing -----------------------------------------------------------------------
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        path = self.inside(path)
        if self._verified:
            verified = self._verified_handle(path, mode)
            if verified is not None:
                return verified
        if "+" in mode:
            self.unrecorded_write(path)
        if any(flag in mode for flag in "wax"):
            upload = _Upload(self, path)
            buffered = io.BufferedWriter(upload, buffer_size=_MIB)
            if "b" in mode:
                return buffered
            return io.TextIOWrapper(buffered, encoding="utf-8", newline="")
        if "b" in mode:
            return self._open_for_reading(path)
        return super().open(path, mode)

    def _open_for_reading(self, path: str) -> IO[Any]:
        size = self.size(path)
        if size < 2 * self.chunk_size:
            return self.fs.open(path, "rb", block_size=max(self.chunk_size, size or 1))
        # Large: downloaded (streamed) into a local file that is unlinked at once
        # (the handle keeps it readable; nothing is left behind however it is closed).
        descriptor, local = tempfile.mkstemp(prefix="headrace-download-")
        os.close(descriptor)
        try:
            self._get_file(path, local, size)
            handle = open(local, "rb")  # noqa: SIM115 - returned to the caller
        finally:
            os.unlink(local)
        return handle

    def open_hashed(self, path: str) -> IO[Any]:
        return self.open(path, "wb")  # hashed (and recorded) by the upload itself

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open(path, "wb") as handle:  # hashed and recorded as it is sent
            handle.write(data)

    def write_buffers(self, path: str, buffers: Sequence[Any]) -> int:
        written = 0
        with self.open(path, "wb") as handle:  # hashed and recorded as it is sent
            for buffer in buffers:
                written += handle.write(memoryview(buffer).cast("B"))
        return written

    def _finish_upload(
        self, path: str, digest: str, size: int, local: str | None, data: bytes
    ) -> None:
        """Send what an ``open(..., "w")`` handle collected, and remember its hash."""
        if local is None:
            self.fs.pipe_file(path, data)
        else:
            with _progress(f"upload {path}", size) as callback:
                self.fs.put_file(local, path, callback=callback, **self.transfer_options())
        self._remember(path, digest, size)

    def _remember(self, path: str, digest: str, size: int) -> None:
        with self._lock:
            key = self._key(path)
            self._written[key] = (digest, size)
            if self._records:
                self._record(key, (digest, size))

    def _key(self, path: str) -> str:
        return str(self.fs._strip_protocol(path))

    # -- whole files and trees ---------------------------------------------------------
    def copy_in(self, local_path: str, path: str) -> None:
        path = self.inside(path)  # every file uploaded is hashed and recorded
        if not os.path.isdir(local_path):
            self._put_file(local_path, path)
            return
        for directory, _dirs, names in os.walk(local_path):
            relative = os.path.relpath(directory, local_path)
            for name in names:
                parts = [path] if relative == "." else [path, relative.replace(os.sep, "/")]
                self._put_file(os.path.join(directory, name), self.join(*parts, name))

    def _put_file(self, local_path: str, path: str) -> None:
        """Upload one file in parallel parts while another thread hashes it."""
        size = os.path.getsize(local_path)
        hasher = FileHasher(local_path)
        hasher.start()
        try:
            with _progress(f"upload {os.path.basename(local_path)}", size) as callback:
                self.fs.put_file(local_path, path, callback=callback, **self.transfer_options())
        finally:
            hasher.join()
        self._remember(path, *hasher.result())

    def copy_out(self, path: str, local_path: str) -> None:
        path = self.inside(path)
        if self.isdir(path):
            super().copy_out(path, local_path)
            return
        parent = os.path.dirname(local_path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        check = self.stream_check(path)
        if check is not None:
            check.outputs.append(local_path)
        self._get_file(path, local_path, self.size(path))
        if check is not None:
            # A load's check is pending: hash the downloaded copy (a local read) instead
            # of downloading the object a second time to hash it.
            check.set_result(*hash_local_file(local_path, check.algorithm))

    def _get_file(self, path: str, local_path: str, size: int) -> None:
        with _progress(f"download {path.rsplit('/', 1)[-1]}", size) as callback:
            self.fs.get_file(
                path, local_path, callback=callback, **self.transfer_options(download=True)
            )

    def makedirs(self, path: str) -> None:
        # Object stores have no directories: a key's prefix exists once a key is below it.
        return None

    def rmtree(self, path: str) -> None:
        super().rmtree(path)
        prefix = self._key(path).rstrip("/") + "/"
        with self._lock:
            for key in [k for k in self._written if k.startswith(prefix)]:
                del self._written[key]

    def _hash_file(self, file: str, algorithm: str = CURRENT) -> tuple[str, int]:
        inner = file_hash(algorithm)
        size = 0
        with self.fs.open(file, "rb", block_size=self.chunk_size) as handle:
            while chunk := handle.read(_HASH_CHUNK):
                inner.update(chunk)
                size += len(chunk)
        return inner.hexdigest(), size


class S3ArtifactStore(RemoteArtifactStore):
    """Amazon S3 and S3-compatible servers (MinIO, Ceph, moto, ...), through ``s3fs``."""

    PROTOCOL = "s3"
    PACKAGE = "s3fs"
    EXTRA = "s3"
    download_concurrency = 1
    """Ranged GETs of one object at once (``S3ArtifactStoreConfig.download_concurrency``)."""

    @classmethod
    def storage_options(
        cls, config: RemoteArtifactStoreConfig, secret: dict[str, str]
    ) -> dict[str, Any]:
        assert isinstance(config, S3ArtifactStoreConfig)
        options: dict[str, Any] = {
            "client_kwargs": dict(config.client_kwargs),
            "config_kwargs": dict(config.config_kwargs),
            "s3_additional_kwargs": dict(config.s3_additional_kwargs),
            "max_concurrency": config.max_concurrency,
            # A new instance per store: two stores with other endpoints never share one.
            "skip_instance_cache": True,
        }
        for option, keys in (
            ("key", ("aws_access_key_id", "key")),
            ("secret", ("aws_secret_access_key", "secret")),
            ("token", ("aws_session_token", "token")),
        ):
            value = next((secret[k] for k in keys if secret.get(k)), None)
            if value is not None:
                options[option] = value
        if secret and "key" not in options:
            raise StackComponentError(
                f"Secret {config.authentication_secret!r} of artifact store {config.path!r} "
                "has no 'aws_access_key_id' (expected keys: aws_access_key_id, "
                "aws_secret_access_key, optionally aws_session_token)."
            )
        return options

    def configure(self, config: RemoteArtifactStoreConfig) -> None:
        assert isinstance(config, S3ArtifactStoreConfig)
        self.download_concurrency = config.download_concurrency

    def transfer_options(self, download: bool = False) -> dict[str, Any]:
        # An uploaded part in flight is held twice (read, and the HTTP client's copy of
        # the body), so chunk size times concurrency bounds an upload's memory.
        # Downloads that come here are one streamed GET (s3fs's sequential path, reading
        # 64 KiB at a time); ranged parts go through ``_download_parts``.
        if download:
            return {"max_concurrency": 1}
        return {"chunksize": self.chunk_size, "max_concurrency": self.max_concurrency}

    def write_buffers(self, path: str, buffers: Sequence[Any]) -> int:
        """Large buffers (an array's memory) go up as a multipart upload straight from
        memory, ``max_concurrency`` parts of ``chunk_size`` at a time, hashed beside the
        upload: no local temporary file is written and read back, and only the parts in
        flight are copied (botocore sends bytes)."""
        path = self.inside(path)
        views = [memoryview(buffer).cast("B") for buffer in buffers]
        size = sum(len(view) for view in views)
        if size < 2 * self.chunk_size:
            return super().write_buffers(path, views)
        from fsspec.asyn import sync

        hashed, hasher = hash_beside(views)
        try:
            with _progress(f"upload {path.rsplit('/', 1)[-1]}", size) as callback:
                callback.set_size(size)
                sync(self.fs.loop, self._upload_parts, path, _Concatenation(views), callback)
        finally:
            hasher.join()
        self.fs.invalidate_cache(path)
        self._remember(path, hashed.hexdigest(), size)
        return size

    async def _upload_parts(self, path: str, source: _Concatenation, callback: Any) -> None:
        """A multipart upload of ``source``: each of ``max_concurrency`` workers takes the
        next ``chunk_size`` part, copies it out of memory and sends it; the upload is
        aborted if any part fails."""
        bucket, key, _version = self.fs.split_path(path)
        upload = await self.fs._call_s3("create_multipart_upload", Bucket=bucket, Key=key)
        upload_id = upload["UploadId"]
        starts = iter(enumerate(range(0, source.size, self.chunk_size), 1))
        etags: dict[int, str] = {}

        async def worker() -> None:
            for number, start in starts:
                body = source.read(start, self.chunk_size)
                sent = await self.fs._call_s3(
                    "upload_part",
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
                etags[number] = sent["ETag"]
                callback.relative_update(len(body))

        try:
            workers = min(self.max_concurrency, -(-source.size // self.chunk_size))
            await asyncio.gather(*(worker() for _ in range(workers)))
            parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
            await self.fs._call_s3(
                "complete_multipart_upload",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the part's own error is the one to see
                await self.fs._call_s3(
                    "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id
                )
            raise

    def _get_file(self, path: str, local_path: str, size: int) -> None:
        if size <= self.chunk_size or self.download_concurrency <= 1:
            super()._get_file(path, local_path, size)  # one streamed GET
            return
        from fsspec.asyn import sync

        with _progress(f"download {path.rsplit('/', 1)[-1]}", size) as callback:
            callback.set_size(size)
            sync(self.fs.loop, self._download_parts, path, local_path, size, callback)

    async def _download_parts(self, path: str, local_path: str, size: int, callback: Any) -> None:
        """Ranged GETs of ``chunk_size`` parts, ``download_concurrency`` at a time, each
        streamed to its offset in ``local_path`` as it arrives.

        s3fs's own parallel download reads every part of a batch whole into memory
        before writing it (parts times concurrency, twice over while a body is
        joined); streaming keeps a download's memory at about ``download_concurrency``
        times ``_STREAM_CHUNK`` whatever the part size or the object's size.
        """
        bucket, key, version = self.fs.split_path(path)
        extra: dict[str, Any] = dict(self.fs.req_kw)
        if version:
            extra["VersionId"] = version
        starts = iter(range(0, size, self.chunk_size))  # shared: each worker takes the next

        async def worker(descriptor: int) -> None:
            for start in starts:
                end = min(start + self.chunk_size, size)
                response = await self.fs._call_s3(
                    "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", **extra
                )
                body = response["Body"]
                offset = start
                try:
                    while offset < end and (chunk := await body.read(_STREAM_CHUNK)):
                        _write_at(descriptor, chunk, offset)
                        offset += len(chunk)
                        callback.relative_update(len(chunk))
                finally:
                    body.close()
                if offset != end:
                    raise OSError(
                        f"Download of {path!r} stopped at byte {offset} of part "
                        f"{start}-{end - 1} (the object changed or the connection dropped)."
                    )

        descriptor = os.open(local_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.ftruncate(descriptor, size)
            workers = min(self.download_concurrency, -(-size // self.chunk_size))
            await asyncio.gather(*(worker(descriptor) for _ in range(workers)))
        finally:
            os.close(descriptor)


class GCSArtifactStore(RemoteArtifactStore):
    """Google Cloud Storage, through ``gcsfs``."""

    PROTOCOL = "gcs"
    PACKAGE = "gcsfs"
    EXTRA = "gcs"

    @classmethod
    def storage_options(
        cls, config: RemoteArtifactStoreConfig, secret: dict[str, str]
    ) -> dict[str, Any]:
        assert isinstance(config, GCSArtifactStoreConfig)
        options: dict[str, Any] = {"skip_instance_cache": True}
        if config.project:
            options["project"] = config.project
        if "token" in secret:
            try:
                options["token"] = json.loads(secret["token"])
            except ValueError as exc:
                raise StackComponentError(
                    f"Secret {config.authentication_secret!r} of artifact store "
                    f"{config.path!r}: key 'token' must be a service-account JSON document."
                ) from exc
        return options


class AzureArtifactStore(RemoteArtifactStore):
    """Azure Blob Storage, through ``adlfs``."""

    PROTOCOL = "abfs"
    PACKAGE = "adlfs"
    EXTRA = "azure"

    @classmethod
    def storage_options(
        cls, config: RemoteArtifactStoreConfig, secret: dict[str, str]
    ) -> dict[str, Any]:
        assert isinstance(config, AzureArtifactStoreConfig)
        options: dict[str, Any] = {"skip_instance_cache": True}
        if config.account_name:
            options["account_name"] = config.account_name
        for key in ("account_name", "account_key", "sas_token", "connection_string"):
            if secret.get(key):
                options[key] = secret[key]
        if "account_name" not in options and "connection_string" not in options:
            raise StackComponentError(
                f"Artifact store {config.path!r} needs an Azure storage account: set "
                "account_name, or a secret with account_name or connection_string."
            )
        return options

    def transfer_options(self, download: bool = False) -> dict[str, Any]:
        return {"max_concurrency": self.max_concurrency}


class _Upload(io.RawIOBase):
    """The raw end of a file opened for writing in a remote store.

    Bytes are hashed as they arrive and kept in memory up to the store's chunk size;
    beyond that they go to a local temporary file. Closing sends them (one request, or
    parallel parts) and records the hash. A handle closed while an exception propagates
    out of the ``with`` block still uploads what it has; ``save_value`` then deletes the
    artifact's keys.
    """

    def __init__(self, store: RemoteArtifactStore, path: str) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._hash = file_hash()
        self._size = 0
        self._memory: bytearray | None = bytearray()
        self._spill: IO[bytes] | None = None

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._size

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._hash.update(view)
        self._size += len(view)
        if self._memory is not None:
            self._memory += view
            if len(self._memory) > self._store.chunk_size:
                self._spill = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
                    prefix="headrace-upload-", delete=False
                )
                self._spill.write(self._memory)
                self._memory = None
        else:
            assert self._spill is not None
            self._spill.write(view)
        return len(view)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._spill is None:
                self._store._finish_upload(
                    self._path, self._hash.hexdigest(), self._size, None, bytes(self._memory or b"")
                )
            else:
                self._spill.close()
                self._store._finish_upload(
                    self._path, self._hash.hexdigest(), self._size, self._spill.name, b""
                )
        finally:
            if self._spill is not None:
                os.unlink(self._spill.name)
            self._memory = None
            super().close()


class _Concatenation:
    """Buffers read as one run of bytes, part by part (what a multipart upload sends)."""

    def __init__(self, views: Sequence[memoryview]) -> None:
        self.views = views
        self.size = sum(len(view) for view in views)

    def read(self, start: int, length: int) -> bytes:
        """``length`` bytes from offset ``start`` (fewer at the end), as one copy."""
        pieces: list[memoryview] = []
        offset = 0
        end = min(start + length, self.size)
        for view in self.views:
            lo, hi = max(start, offset), min(end, offset + len(view))
            if lo < hi:
                pieces.append(view[lo - offset : hi - offset])
            offset += len(view)
        return pieces[0].tobytes() if len(pieces) == 1 else b"".join(pieces)


def _write_at(descriptor: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of an open file (``pwrite`` may write less)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        view = view[written:]
        offset += written


def _progress(description: str, size: int) -> AbstractContextManager[Any]:
    """An fsspec callback that draws a Rich progress bar for a long transfer on a
    terminal, else fsspec's no-op callback."""
    import fsspec.callbacks

    if size < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return nullcontext(fsspec.callbacks.DEFAULT_CALLBACK)
    return _rich_progress(description, size)


@contextmanager
def _rich_progress(description: str, size: int) -> Iterator[Any]:
    import fsspec.callbacks
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
    )
    task = progress.add_task(description, total=size)

    class _Callback(fsspec.callbacks.Callback):
        def call(self, *args: Any, **kwargs: Any) -> None:
            progress.update(task, completed=self.value)

    with progress:
        yield _Callback(size=size)
