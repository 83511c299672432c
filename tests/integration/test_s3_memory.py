"""Peak memory of file artifacts on the S3 store does not grow with their size.

A child process (a fresh interpreter, so its high-water mark is its own) saves and
loads a file artifact through the S3 store on the moto server the tests start, with
the integrity check of a recorded version, and reports how far its resident memory
rose above what it held before the transfer. Uploads go in parts and downloads
stream to disk (one GET, or each ranged part to its offset), so that rise is a
constant (parts in flight), not a fraction of the artifact. Objects above a part also
check their hash while streaming: a changed byte in a multi-part object is still refused.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from artifact_round_trip import load_saved
from s3_server import FAKE_CREDENTIALS, s3_bucket, s3_endpoint  # noqa: F401 - fixtures

MIB = 1 << 20

CHILD = textwrap.dedent(
    """
    import hashlib, os, sys
    from pathlib import Path

    from headrace.artifact_stores.remote import S3ArtifactStore
    from headrace.artifacts.loading import load_value
    from headrace.artifacts.saving import save_value
    from headrace.materializers.path_materializer import PathMaterializer
    from headrace.stacks.configs import S3ArtifactStoreConfig

    endpoint, root, source = sys.argv[1], sys.argv[2], Path(sys.argv[3])

    def resident(field):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    def sha256(path):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    store = S3ArtifactStore.from_config(
        S3ArtifactStoreConfig(path=root, client_kwargs={"endpoint_url": endpoint})
    )

    def round_trip(value, uri):
        saved = save_value(
            value, artifact_store=store, uri=uri, materializer_class=PathMaterializer
        )
        return load_value(
            uri=saved.uri,
            materializer=saved.materializer,
            data_type=saved.data_type,
            python_version_written=saved.python_version,
            artifact_store=store,
            content_hash=saved.content_hash,
        )

    # Warm-up: imports, clients and connection pools are not what is measured.
    small = source.with_name("small.bin")
    small.write_bytes(b"x" * 1000)
    round_trip(small, root + "/warm")
    before = resident("VmRSS")
    loaded = round_trip(source, root + "/file")
    peak = resident("VmHWM")
    assert sha256(loaded) == sha256(source), "the loaded file differs from the saved one"
    print(max(peak - before, 0))
    """
)


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size // MIB):
            handle.write(os.urandom(MIB))


def _peak_rise(endpoint: str, root: str, source: Path) -> int:
    env = {**os.environ, **FAKE_CREDENTIALS}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    out = subprocess.run(
        [sys.executable, "-c", CHILD, endpoint, root, str(source)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_file_artifact_memory_does_not_grow_with_its_size(
    s3_endpoint: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    rises = {}
    for size_mib in (96, 192):
        source = tmp_path / f"source-{size_mib}.bin"
        _write_random(source, size_mib * MIB)
        root = f"s3://{s3_bucket}/memory-{size_mib}"
        rises[size_mib] = _peak_rise(s3_endpoint, root, source)
        source.unlink()
    figures = {size: round(rise / MIB, 1) for size, rise in rises.items()}
    print("peak rise MiB by size MiB:", figures)
    # Parts in flight (4 of 8 MiB, held a few times over while sent) bound the rise;
    # a store that held the artifact would rise by at least its size.
    assert all(rise < 96 * MIB for rise in rises.values()), figures
    assert rises[192] - rises[96] < 32 * MIB, figures


@pytest.mark.parametrize("download_concurrency", [1, 3])
@pytest.mark.parametrize("change", ["flip", "truncate"])
def test_changed_multi_part_objects_are_refused(
    s3_endpoint: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    download_concurrency: int,
) -> None:
    """Objects of several parts (a file uploaded by s3fs's ``put_file``, an array sent
    in parts straight from its memory) are downloaded by one streamed GET or by
    parallel streamed ranges and hashed on the way: a byte changed in a middle part, or
    a cut, is refused on load."""
    np = pytest.importorskip("numpy")
    import s3fs

    from headrace.artifact_stores.remote import S3ArtifactStore
    from headrace.artifacts.saving import save_value
    from headrace.exceptions import ArtifactIntegrityError
    from headrace.materializers.numpy_materializer import NumpyMaterializer
    from headrace.materializers.path_materializer import PathMaterializer
    from headrace.stacks.configs import S3ArtifactStoreConfig

    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "always")
    root = f"s3://{s3_bucket}/parts"
    store = S3ArtifactStore.from_config(
        S3ArtifactStoreConfig(
            path=root,
            client_kwargs={"endpoint_url": s3_endpoint},
            chunk_size_mb=5,
            download_concurrency=download_concurrency,
        )
    )
    assert store.download_concurrency == download_concurrency
    source = tmp_path / "big.bin"
    _write_random(source, 17 * MIB)  # four parts of 5 MiB, the last one short
    array = np.frombuffer(os.urandom(13 * MIB), dtype=np.uint8)
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}, skip_instance_cache=True)
    cases = [(source, PathMaterializer, "content"), (array, NumpyMaterializer, "data.npy")]
    for index, (value, materializer, file) in enumerate(cases):
        saved = save_value(
            value, artifact_store=store, uri=f"{root}/{index}", materializer_class=materializer
        )

        def load(saved: Any = saved) -> Any:
            return load_saved(saved, store)

        loaded = load()
        if materializer is PathMaterializer:
            assert loaded.read_bytes() == source.read_bytes()
        key = f"{saved.uri.removeprefix('s3://')}/{file}"
        if materializer is NumpyMaterializer:
            assert (loaded == array).all()
            stored = np.load(io.BytesIO(fs.cat_file(key)), allow_pickle=False)
            assert stored.dtype == array.dtype and (stored == array).all()  # np.save's bytes
        data = bytearray(fs.cat_file(key))
        if change == "flip":
            data[len(data) // 2] ^= 1
        else:
            del data[11 * MIB :]
        fs.pipe_file(key, bytes(data))
        store.fs.invalidate_cache()  # as another process would see it
        with pytest.raises(ArtifactIntegrityError, match="changed after they were written"):
            load()
