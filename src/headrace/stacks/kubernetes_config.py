"""Configuration of the ``kubernetes`` orchestrator flavor (plain data, no client import).

The stack component holds the cluster-wide values (context, namespace, image, service
account); a pipeline or a step overrides any of them through
``settings["orchestrator.kubernetes"]``. What goes into the pods (node selectors,
tolerations, labels, resources, ...) is a ``KubernetesPodSettings`` under
``pod_settings``. A step's ``settings["resources"]`` (``ResourceSettings``) becomes its
container's requests and limits; ``pod_settings.resources`` is given as Kubernetes
spells it and wins for the keys it names.

Every model refuses unknown keys, so a misspelled option is an error, never ignored.
Values are the Kubernetes API's own JSON shapes (camelCase inside ``affinity``,
``tolerations``, ``volumes``, ...), validated against the Kubernetes schema when the
manifest is built.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from headrace.utils.factories import new_dict

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _new_list() -> list[Any]:
    return []


class KubernetesPodSettings(BaseModel):
    """What a pod made by the orchestrator carries beyond its command.

    Attributes:
        node_selectors: node labels the pod must be scheduled on.
        tolerations: taints the pod tolerates (``V1Toleration`` JSON).
        affinity: node/pod affinity (``V1Affinity`` JSON).
        resources: container ``requests``/``limits`` (``{"limits": {"nvidia.com/gpu": 1}}``);
            keys given here win over the step's ``ResourceSettings``.
        labels: extra pod labels.
        annotations: pod annotations.
        env: extra environment variables of the step container (name -> value).
        env_from: ``V1EnvFromSource`` JSON (e.g. ``{"secretRef": {"name": "creds"}}``).
        volumes: ``V1Volume`` JSON of the pod.
        volume_mounts: ``V1VolumeMount`` JSON of the step container.
        image_pull_secrets: names of Secrets used to pull the image.
        host_ipc: share the node's IPC namespace (e.g. for PyTorch data loaders).
        priority_class_name: the pod's priority class.
        security_context: the container's ``V1SecurityContext`` JSON.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    node_selectors: dict[str, str] = Field(default_factory=new_dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=_new_list)
    affinity: dict[str, Any] = Field(default_factory=new_dict)
    resources: dict[str, dict[str, str | int | float]] = Field(default_factory=new_dict)
    labels: dict[str, str] = Field(default_factory=new_dict)
    annotations: dict[str, str] = Field(default_factory=new_dict)
    env: dict[str, str] = Field(default_factory=new_dict)
    env_from: list[dict[str, Any]] = Field(default_factory=_new_list)
    volumes: list[dict[str, Any]] = Field(default_factory=_new_list)
    volume_mounts: list[dict[str, Any]] = Field(default_factory=_new_list)
    image_pull_secrets: list[str] = Field(default_factory=_new_list)
    host_ipc: bool = False
    priority_class_name: str | None = None
    security_context: dict[str, Any] = Field(default_factory=new_dict)

    @field_validator("resources")
    @classmethod
    def _resource_sections(
        cls, value: dict[str, dict[str, str | int | float]]
    ) -> dict[str, dict[str, str | int | float]]:
        unknown = sorted(set(value) - {"requests", "limits"})
        if unknown:
            raise ValueError(
                f"resources may only have 'requests' and 'limits', not {', '.join(unknown)}"
            )
        return value


class KubernetesOrchestratorConfig(BaseModel):
    """Steps run as pods of a Kubernetes cluster (1.24 or later).

    Three placements of a run (``driver_pod`` and ``run_steps_in_driver``): a driver pod
    that creates one pod per step (the default, as ZenML's orchestrator pod does); a
    driver pod that runs every step itself; or the launching process as the driver,
    creating one pod per step (``driver_pod: false``).

    Attributes:
        kubernetes_context: the kubeconfig context to use (default: the current one).
        kubeconfig: path of the kubeconfig file (default: ``$KUBECONFIG`` or
            ``~/.kube/config``).
        incluster: use the service account of the pod this runs in (for a driver or a
            server running inside the cluster) instead of a kubeconfig.
        kubernetes_namespace: namespace of the driver and step pods (must exist).
        service_account_name: service account of the driver pod, and of the step pods
            unless ``step_pod_service_account_name`` is set; the driver's must be
            allowed to create, list and delete pods in the namespace.
        step_pod_service_account_name: service account of the step pods (default:
            ``service_account_name``).
        driver_pod: run the run's driver (its scheduler) in a pod of its own, so the
            launching machine may go away; ``false``: the launching process drives the
            run and creates the step pods itself.
        run_steps_in_driver: the driver pod runs every step in its own process, one
            thread per step, instead of a pod per step (needs ``driver_pod``).
        orchestrator_pod_settings: what the driver pod carries (default:
            ``pod_settings``); ZenML's name for it.
        timeout: longest time in seconds a synchronous launch follows a driver pod's run
            (``0``: no limit); the run goes on after it.
        image: the image of the step pods when the run's snapshot records none; it must
            hold Python, headrace and the step's requirements.
        image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never``.
        python: the interpreter to run in the image.
        pod_settings: what every step pod carries (a step's own settings override it).
        pod_name_prefix: prefix of pod names (default: the pipeline name).
        pod_startup_timeout_s: how long a pod may stay ``Pending`` (pulling, unschedulable)
            before its step fails.
        poll_interval_s: how often pod phases are read.
        max_parallelism: most step pods at once (default: no limit).
        delete_finished_pods: remove a step's pod once its result is read.
        synchronous: whether ``my_pipeline()`` waits for the run (default: yes).
        labels: labels of every pod (the orchestrator adds its own run/step labels).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kubernetes_context: str | None = None
    kubeconfig: str | None = None
    incluster: bool = False
    kubernetes_namespace: str = Field(default="default", pattern=_DNS_LABEL, max_length=63)
    service_account_name: str | None = None
    step_pod_service_account_name: str | None = None
    driver_pod: bool = True
    run_steps_in_driver: bool = False
    orchestrator_pod_settings: KubernetesPodSettings | None = None
    timeout: float = Field(default=0.0, ge=0)
    image: str | None = None
    image_pull_policy: str | None = Field(default=None, pattern=r"^(Always|IfNotPresent|Never)$")
    python: str = "python"
    pod_settings: KubernetesPodSettings = Field(default_factory=KubernetesPodSettings)
    pod_name_prefix: str | None = Field(default=None, max_length=40)
    pod_startup_timeout_s: float = Field(default=600.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    max_parallelism: int | None = Field(default=None, ge=1)
    delete_finished_pods: bool = True
    synchronous: bool | None = None
    labels: dict[str, str] = Field(default_factory=new_dict)

    @model_validator(mode="after")
    def _steps_in_driver_need_one(self) -> KubernetesOrchestratorConfig:
        if self.run_steps_in_driver and not self.driver_pod:
            raise ValueError(
                "run_steps_in_driver needs driver_pod: true (the steps run in the driver "
                "pod, so there must be one)"
            )
        return self

    @property
    def step_service_account(self) -> str | None:
        """The service account of the step pods."""
        return self.step_pod_service_account_name or self.service_account_name

    @property
    def driver_pod_settings(self) -> KubernetesPodSettings:
        """What the driver pod carries."""
        return self.orchestrator_pod_settings or self.pod_settings
