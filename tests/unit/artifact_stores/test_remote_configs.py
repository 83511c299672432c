"""Remote artifact store flavors: configuration, validation and the fsspec options they
give. GCS and Azure cannot be reached from here (no service, and gcsfs/adlfs are not
installed), so their configuration and credential handling are what is tested; S3 runs
for real against moto in tests/integration/test_s3_artifact_store.py."""

from __future__ import annotations

import importlib.util
import io

import pytest

from headrace.artifact_stores.remote import (
    AzureArtifactStore,
    GCSArtifactStore,
    RemoteArtifactStore,
    S3ArtifactStore,
    _progress,
)
from headrace.enums import StackComponentType
from headrace.exceptions import StackComponentError
from headrace.stacks.configs import (
    AzureArtifactStoreConfig,
    GCSArtifactStoreConfig,
    S3ArtifactStoreConfig,
)
from headrace.stacks.flavors import get_flavor, list_flavors, load_implementation, parse_value
from headrace.stacks.flavors import validate_configuration as validate

ARTIFACT_STORE = StackComponentType.ARTIFACT_STORE


def test_the_flavors_are_registered_and_import_lazily() -> None:
    names = [f.name for f in list_flavors(ARTIFACT_STORE)]
    assert names == ["azure", "gcs", "local", "s3"]
    assert load_implementation(get_flavor(ARTIFACT_STORE, "s3")) is S3ArtifactStore
    assert load_implementation(get_flavor(ARTIFACT_STORE, "gcs")) is GCSArtifactStore
    assert load_implementation(get_flavor(ARTIFACT_STORE, "azure")) is AzureArtifactStore
    assert get_flavor(ARTIFACT_STORE, "s3").install_hint == "pip install 'headrace[s3]'"


@pytest.mark.parametrize(
    ("flavor", "good", "bad"),
    [
        ("s3", "s3://bucket/prefix/", "gs://bucket"),
        ("gcs", "gs://bucket/p", "s3://bucket"),
        ("azure", "az://container/p", "/local/dir"),
    ],
)
def test_paths_must_be_urls_of_the_flavor(flavor: str, good: str, bad: str) -> None:
    config = validate(get_flavor(ARTIFACT_STORE, flavor), {"path": good})
    assert config.path == good.rstrip("/")  # type: ignore[attr-defined]
    with pytest.raises(StackComponentError, match="key 'path'.*must be a URL starting with"):
        validate(get_flavor(ARTIFACT_STORE, flavor), {"path": bad})
    with pytest.raises(StackComponentError, match="names no bucket"):
        validate(get_flavor(ARTIFACT_STORE, flavor), {"path": good.split("://")[0] + "://"})


def test_misspelled_keys_and_bad_values_are_refused() -> None:
    s3 = get_flavor(ARTIFACT_STORE, "s3")
    with pytest.raises(StackComponentError, match="did you mean 'client_kwargs'"):
        validate(s3, {"path": "s3://b", "client_kwarg": {}})
    with pytest.raises(StackComponentError, match="endpoint_url must be an http"):
        validate(s3, {"path": "s3://b", "client_kwargs": {"endpoint_url": "127.0.0.1:9000"}})
    with pytest.raises(StackComponentError, match="chunk_size_mb"):
        validate(s3, {"path": "s3://b", "chunk_size_mb": 1})
    with pytest.raises(StackComponentError, match="download_concurrency"):
        validate(s3, {"path": "s3://b", "download_concurrency": 0})
    assert parse_value(s3, "download_concurrency", "4") == 4
    with pytest.raises(StackComponentError, match="did you mean 'account_name'"):
        validate(get_flavor(ARTIFACT_STORE, "azure"), {"path": "az://c", "acount_name": "x"})
    # As typed on a command line: the JSON object is parsed, the secret name stays text.
    assert parse_value(s3, "client_kwargs", '{"endpoint_url": "http://h:1"}') == {
        "endpoint_url": "http://h:1"
    }
    assert parse_value(s3, "authentication_secret", "123") == "123"


def test_s3_options_from_a_secret_or_the_environment() -> None:
    config = S3ArtifactStoreConfig(
        path="s3://b",
        client_kwargs={"endpoint_url": "http://127.0.0.1:9"},
        authentication_secret="aws",
        max_concurrency=3,
    )
    options = S3ArtifactStore.storage_options(
        config, {"aws_access_key_id": "AK", "aws_secret_access_key": "SK"}
    )
    assert options["key"] == "AK" and options["secret"] == "SK" and "token" not in options
    assert options["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:9"}
    assert options["max_concurrency"] == 3
    assert "key" not in S3ArtifactStore.storage_options(config, {})  # the AWS variables
    with pytest.raises(StackComponentError, match="has no 'aws_access_key_id'"):
        S3ArtifactStore.storage_options(config, {"password": "x"})


def test_a_named_secret_needs_a_store_and_must_be_readable() -> None:
    config = S3ArtifactStoreConfig(path="s3://b", authentication_secret="aws")
    with pytest.raises(StackComponentError, match="no store is at hand"):
        S3ArtifactStore.from_config(config)

    def missing(name: str) -> dict[str, str]:
        raise KeyError(name)

    with pytest.raises(StackComponentError, match="secret 'aws' cannot be read"):
        S3ArtifactStore.from_config(config, secrets=missing)


def test_gcs_options() -> None:
    config = GCSArtifactStoreConfig(path="gs://b", project="proj", authentication_secret="g")
    options = GCSArtifactStore.storage_options(config, {"token": '{"type": "service_account"}'})
    assert options["project"] == "proj" and options["token"] == {"type": "service_account"}
    with pytest.raises(StackComponentError, match="service-account JSON"):
        GCSArtifactStore.storage_options(config, {"token": "not json"})


def test_azure_options() -> None:
    config = AzureArtifactStoreConfig(path="az://c", authentication_secret="a")
    options = AzureArtifactStore.storage_options(
        config, {"account_name": "acct", "account_key": "k"}
    )
    assert options["account_name"] == "acct" and options["account_key"] == "k"
    assert (
        AzureArtifactStore.storage_options(config, {"connection_string": "x"})["connection_string"]
        == "x"
    )
    with pytest.raises(StackComponentError, match="needs an Azure storage account"):
        AzureArtifactStore.storage_options(config, {})


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed here")
def test_a_missing_package_says_what_to_install() -> None:
    with pytest.raises(StackComponentError, match=r"pip install 'headrace\[gcs\]'"):
        GCSArtifactStore.from_config(GCSArtifactStoreConfig(path="gs://b"))


def test_remote_stores_write_in_place_and_the_memory_filesystem_works() -> None:
    """The shared code path over an fsspec filesystem, on fsspec's in-memory one."""
    import fsspec

    fs = fsspec.filesystem("memory", skip_instance_cache=True)
    store = RemoteArtifactStore("memory://remote-test", fs, chunk_size=1 << 10)
    assert store.atomic_rename is False
    small = "memory://remote-test/a/small.txt"
    with store.open(small, "w") as text:
        text.write("héllo\n")
    big = "memory://remote-test/a/big.bin"
    payload = bytes(range(256)) * 40  # above the chunk size: spilled to a local file
    with store.open(big, "wb") as handle:
        handle.write(payload[:5000])
        assert handle.tell() == 5000
        handle.write(payload[5000:])
    with store.open(small, "r") as text:
        assert text.read() == "héllo\n"
    with store.open(big, "rb") as handle:
        assert handle.read() == payload
    remembered = store.digest("memory://remote-test/a")
    store._written.clear()
    assert store.digest("memory://remote-test/a") == remembered  # same hash read back
    store.rmtree("memory://remote-test/a")
    assert not store.exists(big)


def test_progress_only_on_a_terminal_for_long_transfers(monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec.callbacks

    with _progress("upload x", 1 << 40) as callback:  # pytest's stderr is no terminal
        assert callback is fsspec.callbacks.DEFAULT_CALLBACK

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    with _progress("upload x", 10) as callback:
        assert callback is fsspec.callbacks.DEFAULT_CALLBACK
    with _progress("upload x", 1 << 30) as callback:
        callback.relative_update(1 << 29)
        assert callback.value == 1 << 29 and callback.size == 1 << 30


def test_parts_of_several_buffers_are_cut_across_their_boundaries() -> None:
    from headrace.artifact_stores.remote import _Concatenation

    buffers = [b"head", bytes(range(256)) * 3, b"", b"tail"]
    whole = b"".join(buffers)
    source = _Concatenation([memoryview(b) for b in buffers])
    assert source.size == len(whole)
    for part in (1, 5, 7, 100, len(whole), len(whole) + 9):
        assert b"".join(source.read(s, part) for s in range(0, len(whole), part)) == whole
