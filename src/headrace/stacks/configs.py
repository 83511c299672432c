"""The configuration models of the built-in flavors.

Every model forbids unknown keys: a misspelled option must be refused, never silently
ignored (``flavors.validate_configuration`` turns pydantic's error into one that names
the closest valid key).
"""

from typing import Any

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
