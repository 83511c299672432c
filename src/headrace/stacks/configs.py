"""The configuration models of the built-in flavors.

Every model forbids unknown keys: a misspelled option must be refused, never silently
ignored (``flavors.validate_configuration`` turns pydantic's error into one that names
the closest valid key).
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headrace.utils.factories import new_dict


class ComponentConfig(BaseModel):
    """Base of flavor configurations: unknown keys are errors; values are JSON data."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class LocalOrchestratorConfig(ComponentConfig):
    """Steps run on this machine: in threads of the launching process, or in processes.

    Attributes:
        max_parallelism: most steps running at once (default: one per CPU, at least 4).
        processes: run each step in its own process instead of a thread.
        synchronous: whether ``my_pipeline()`` waits for the run (default: yes).
    """

    max_parallelism: int | None = Field(default=None, ge=1)
    processes: bool = False
    synchronous: bool | None = None


class RayOrchestratorConfig(ComponentConfig):
    """Steps run as tasks on a Ray cluster.

    Attributes:
        address: the cluster (``host:port``, ``ray://host:port`` or ``auto``).
        synchronous: whether ``my_pipeline()`` waits for the run (default: yes).
        max_parallelism: most steps submitted at once (default: no limit).
        namespace: Ray namespace of the driver.
        runtime_env: Ray runtime environment of the step tasks.
        init_timeout_s: how long to wait for the cluster to answer.
    """

    address: str = "auto"
    synchronous: bool | None = None
    max_parallelism: int | None = Field(default=None, ge=1)
    namespace: str | None = None
    runtime_env: dict[str, Any] = Field(default_factory=new_dict)
    init_timeout_s: float = Field(default=30.0, gt=0)


class LocalArtifactStoreConfig(ComponentConfig):
    """Artifact bytes under a root directory (or an fsspec URL such as ``s3://...``).

    Attributes:
        path: the root; a relative directory is made absolute when the component is
            registered, so every process finds the same files.
    """

    path: str = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if "://" in value:
            return value
        from pathlib import Path

        return str(Path(value).expanduser().resolve())


class WebhookAlerterConfig(ComponentConfig):
    """Alerts posted as JSON to a webhook (chat services read the ``text`` field).

    Attributes:
        url: the ``http://`` or ``https://`` URL to post to.
        headers: extra HTTP headers (e.g. an authorization token).
        timeout_s: how long to wait for the receiver.
    """

    url: str
    headers: dict[str, str] = Field(default_factory=new_dict)
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value


class RemoteArtifactStoreConfig(ComponentConfig):
    """What every object-storage artifact store shares (served through fsspec).

    Attributes:
        path: the root URL (``s3://bucket/prefix``, ``gs://...``, ``az://...``).
        authentication_secret: name of a headrace secret holding the credentials (the
            keys each flavor reads are listed in its docs); without it the provider's
            usual environment variables and files are used.
        chunk_size_mb: size of the parts large files are uploaded and downloaded in
            (S3 needs at least 5).
        max_concurrency: how many parts of one file travel at once. Memory in flight is
            about three times ``chunk_size_mb * max_concurrency`` (the client copies
            each part while signing and sending it): the defaults keep a transfer of
            any size under 100 MiB.
    """

    path: str = Field(min_length=1)
    authentication_secret: str | None = None
    chunk_size_mb: int = Field(default=8, ge=5, le=5120)
    max_concurrency: int = Field(default=4, ge=1, le=64)

    # Each subclass names the URL schemes it serves; the first is the canonical one.
    SCHEMES: ClassVar[tuple[str, ...]] = ()

    @field_validator("path")
    @classmethod
    def _remote_url(cls, value: str) -> str:
        schemes = cls.SCHEMES
        scheme, separator, rest = value.partition("://")
        if not separator or scheme not in schemes:
            allowed = " or ".join(f"{s}://" for s in schemes)
            raise ValueError(f"must be a URL starting with {allowed}, got {value!r}")
        bucket = rest.split("/", 1)[0]
        if not bucket:
            raise ValueError(f"names no bucket or container: {value!r}")
        return value.rstrip("/")


class S3ArtifactStoreConfig(RemoteArtifactStoreConfig):
    """Artifacts in Amazon S3 or an S3-compatible server (MinIO, Ceph, moto, ...).

    Credentials come from ``authentication_secret`` (keys ``aws_access_key_id``,
    ``aws_secret_access_key`` and optionally ``aws_session_token``) or else from the
    standard AWS variables and files.

    Attributes:
        client_kwargs: passed to the botocore client, e.g. ``{"endpoint_url":
            "http://127.0.0.1:9000", "region_name": "eu-west-1"}``.
        config_kwargs: passed to ``botocore.config.Config``.
        s3_additional_kwargs: added to every S3 request (e.g. ``ServerSideEncryption``).
        download_concurrency: how many ranged GETs of one large object run at once. The
            default, 1, streams the object in one GET, as ``s3fs``'s sequential
            ``get_file`` does: servers that read the whole object again for every range
            request (moto, some S3-compatible servers) serve that several times faster
            than parts. On AWS S3 a few parts (``chunk_size_mb`` each) in parallel can
            beat one connection for objects of hundreds of MiB; each part streams to its
            place in the local file, so memory stays small either way.
    """

    SCHEMES: ClassVar[tuple[str, ...]] = ("s3", "s3a")

    client_kwargs: dict[str, Any] = Field(default_factory=new_dict)
    config_kwargs: dict[str, Any] = Field(default_factory=new_dict)
    s3_additional_kwargs: dict[str, Any] = Field(default_factory=new_dict)
    download_concurrency: int = Field(default=1, ge=1, le=64)

    @field_validator("client_kwargs")
    @classmethod
    def _endpoint(cls, value: dict[str, Any]) -> dict[str, Any]:
        endpoint = value.get("endpoint_url")
        if endpoint is not None and not str(endpoint).startswith(("http://", "https://")):
            raise ValueError(f"endpoint_url must be an http:// or https:// URL, got {endpoint!r}")
        return value


class GCSArtifactStoreConfig(RemoteArtifactStoreConfig):
    """Artifacts in Google Cloud Storage (through ``gcsfs``).

    Credentials come from ``authentication_secret`` (key ``token``: a service-account
    JSON document) or else from the application-default credentials.

    Attributes:
        project: the Google Cloud project billed for requests.
    """

    SCHEMES: ClassVar[tuple[str, ...]] = ("gs", "gcs")

    project: str | None = None


class AzureArtifactStoreConfig(RemoteArtifactStoreConfig):
    """Artifacts in Azure Blob Storage (through ``adlfs``).

    Credentials come from ``authentication_secret`` (keys ``account_name`` with
    ``account_key`` or ``sas_token``, or ``connection_string``) or else from the
    ``AZURE_STORAGE_*`` variables.

    Attributes:
        account_name: the storage account (when the secret does not name it).
    """

    SCHEMES: ClassVar[tuple[str, ...]] = ("az", "abfs", "abfss")

    account_name: str | None = None
