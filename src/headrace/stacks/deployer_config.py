"""Configuration of the deployer flavors (plain data, no engine or client import).

A deployer turns a snapshot into a long-running HTTP service. What every flavor shares
(how many invocations run at once, the largest request body, whether invocations are
tracked runs) is in :class:`DeployerConfig`; each flavor adds where the service runs.
A deployment may override ``tracking`` and the limits when it is made
(``headrace pipeline deploy --no-tracking ...``).
"""

from pydantic import Field, field_validator

from headrace.stacks.configs import ComponentConfig
from headrace.utils.factories import new_dict

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class DeployerConfig(ComponentConfig):
    """What every deployer flavor shares.

    Attributes:
        threads: most invocations served at once; more wait their turn (``/health`` and
            ``/info`` never wait).
        max_request_bytes: the largest ``POST /invoke`` body accepted (413 beyond it).
        tracking: whether each invocation is a tracked run (steps, artifacts, logs in
            the store); off, nothing is written and outputs stay in memory.
        startup_timeout_s: how long deploying waits for the service to answer.
    """

    threads: int = Field(default=8, ge=1, le=1024, description="Most invocations served at once.")
    max_request_bytes: int = Field(
        default=1_048_576, ge=1024, description="The largest request body accepted (413 beyond)."
    )
    tracking: bool = Field(
        default=True, description="Record each invocation as a run (off: nothing is written)."
    )
    startup_timeout_s: float = Field(
        default=120.0, gt=0, description="How long deploying waits for the service to answer."
    )


class LocalDeployerConfig(DeployerConfig):
    """The service runs as a background process on this machine.

    Attributes:
        host: the address the service listens on (``0.0.0.0`` for every interface).
        port: its port; none picks a free one (the URL is recorded when it listens).
    """

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)


class DockerDeployerConfig(DeployerConfig):
    """The service runs in a container of a local container engine (docker, podman).

    Attributes:
        image: the image to run (default: the snapshot's built image); it must contain
            headrace and reach the store.
        port: the host port published for the service (default 8000).
        store_url: the store the container reaches (default: this store's URL; a local
            SQLite file is mounted at the same path).
        environment: extra environment variables of the container.
        run_arguments: extra arguments of ``docker run`` (e.g. ``["--network=host"]``).
    """

    image: str | None = None
    port: int = Field(default=8000, ge=1, le=65535)
    store_url: str | None = None
    environment: dict[str, str] = Field(default_factory=new_dict)
    run_arguments: list[str] = Field(default_factory=list)


class KubernetesDeployerConfig(DeployerConfig):
    """The service runs as a Kubernetes Deployment behind a Service.

    Attributes:
        image: the container image (headrace and the store's client inside).
        namespace: where the objects are made.
        replicas: how many pods serve the deployment.
        port: the container and Service port.
        service_type: ``ClusterIP``, ``NodePort`` or ``LoadBalancer``.
        store_url_secret: name of a Kubernetes Secret whose key ``url`` is the store URL
            the pods use (``HEADRACE_STORE_URL``).
        output_directory: where the manifests are written (default: the store's
            ``deployments/`` directory).
        apply: apply the manifests to the cluster of ``kubernetes_context`` instead of
            only writing them.
        kubernetes_context: the kubeconfig context used when applying.
        resources: the container's ``requests``/``limits`` as Kubernetes spells them.
    """

    image: str = Field(min_length=1)
    namespace: str = Field(default="default", pattern=_DNS_LABEL)
    replicas: int = Field(default=1, ge=1)
    port: int = Field(default=8000, ge=1, le=65535)
    service_type: str = "ClusterIP"
    store_url_secret: str | None = None
    output_directory: str | None = None
    apply: bool = False
    kubernetes_context: str | None = None
    resources: dict[str, dict[str, str | int | float]] = Field(default_factory=new_dict)

    @field_validator("service_type")
    @classmethod
    def _service_type(cls, value: str) -> str:
        allowed = ("ClusterIP", "NodePort", "LoadBalancer")
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
        return value
