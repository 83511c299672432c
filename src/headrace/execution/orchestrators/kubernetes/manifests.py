"""Pod manifests of step pods, built from the official client's models.

A step pod runs ``python -m headrace.execution.step_entrypoint --task-env
HEADRACE_STEP_TASK`` in the run's image: the step task travels as JSON in that
environment variable of the pod spec. That keeps a step one API object (no ConfigMap to
create, clean up or grant RBAC for, and nothing to race between two objects); the
price is the API server's object size limit (about 1 MiB), far above what a task
holds (its step spec, configuration and input references, never artifact bytes).
The step writes its own step run and outputs to the store; the orchestrator reads
them back when the pod ends (``results``), so nothing but the exit code has to come
back through Kubernetes.

Every name and label is made a valid DNS-1123 name / label value here, and the result
is serialised with ``ApiClient.sanitize_for_serialization``, the client's own JSON
form, never by hand.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes.client import V1Pod

    from headrace.config.resource_settings import ResourceSettings
    from headrace.execution.step_task import StepTask
    from headrace.stacks.kubernetes_config import (
        KubernetesOrchestratorConfig,
        KubernetesPodSettings,
    )

TASK_ENV = "HEADRACE_STEP_TASK"
STEP_CONTAINER = "step"
MANAGED_BY = "app.kubernetes.io/managed-by"
RUN_LABEL = "headrace.dev/run-id"
STEP_LABEL = "headrace.dev/step"
INVOCATION_ANNOTATION = "headrace.dev/invocation-id"
GPU_RESOURCE = "nvidia.com/gpu"

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")
_MEMORY_UNITS = {
    "": "",
    "KB": "k",
    "KIB": "Ki",
    "MB": "M",
    "MIB": "Mi",
    "GB": "G",
    "GIB": "Gi",
    "TB": "T",
    "TIB": "Ti",
}


def dns_name(text: str, limit: int) -> str:
    """``text`` as a DNS-1123 label part: lower case, digits and dashes, at most
    ``limit`` characters, starting and ending with an alphanumeric."""
    name = _NOT_DNS.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return name or "x"


def label_value(text: str) -> str:
    """``text`` as a valid label value (63 characters, alphanumeric at both ends)."""
    value = _NOT_LABEL.sub("-", text)[:63]
    return value.strip("-_.")


def pod_name(task: StepTask, prefix: str | None) -> str:
    """A pod name unique per run and step, readable in ``kubectl get pods``."""
    digest = hashlib.sha256(f"{task.run_id}/{task.invocation_id}".encode()).hexdigest()[:10]
    head = dns_name(prefix or task.pipeline_name, 20)
    return f"{head}-{dns_name(task.invocation_id, 30)}-{digest}"


def run_selector(run_id: str) -> str:
    """The label selector of a run's step pods."""
    return f"{MANAGED_BY}=headrace,{RUN_LABEL}={label_value(run_id)}"


def memory_quantity(memory: str) -> str:
    """``ResourceSettings.memory`` (``"4GB"``, ``"512 MiB"``, ``"1024"``) as a Kubernetes
    quantity (``4G``, ``512Mi``, ``1024``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", memory.strip())
    if match is None or match.group(2).upper() not in _MEMORY_UNITS:
        raise ValueError(f"memory {memory!r} is not a size such as '4GB' or '512MiB'")
    return match.group(1) + _MEMORY_UNITS[match.group(2).upper()]


def container_resources(
    resources: ResourceSettings | None, pod_settings: KubernetesPodSettings
) -> dict[str, dict[str, Any]]:
    """Requests and limits: the step's ``ResourceSettings``, then ``pod_settings.resources``.

    CPU and memory are requested; memory is also the limit (a step that outgrows it is
    ended by the kubelet rather than starving its neighbours); GPUs are limits, as
    Kubernetes requires for extended resources.
    """
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if resources is not None:
        if resources.cpu_count is not None:
            requests["cpu"] = f"{resources.cpu_count:g}"
        if resources.memory is not None:
            requests["memory"] = limits["memory"] = memory_quantity(resources.memory)
        if resources.gpu_count:
            limits[GPU_RESOURCE] = str(resources.gpu_count)
    requests.update({k: str(v) for k, v in pod_settings.resources.get("requests", {}).items()})
    limits.update({k: str(v) for k, v in pod_settings.resources.get("limits", {}).items()})
    return {"requests": requests, "limits": limits}


def step_command(config: KubernetesOrchestratorConfig) -> list[str]:
    """The step container's command: the step entry point reading the task from the
    environment."""
    return [config.python, "-m", "headrace.execution.step_entrypoint", "--task-env", TASK_ENV]


def build_step_pod(
    task: StepTask,
    config: KubernetesOrchestratorConfig,
    image: str,
    resources: ResourceSettings | None = None,
) -> V1Pod:
    """The pod that runs ``task`` (``restartPolicy: Never``: the step runner retries a
    failed step itself, as its retry settings say)."""
    from kubernetes import client as k8s

    settings = config.pod_settings
    labels = {
        **config.labels,
        **settings.labels,
        MANAGED_BY: "headrace",
        RUN_LABEL: label_value(task.run_id),
        STEP_LABEL: label_value(task.invocation_id),
    }
    annotations = {**settings.annotations, INVOCATION_ANNOTATION: task.invocation_id}
    env = [k8s.V1EnvVar(name=name, value=value) for name, value in settings.env.items()]
    env.append(k8s.V1EnvVar(name=TASK_ENV, value=task.to_json()))
    requirements = container_resources(resources, settings)
    container = k8s.V1Container(
        name=STEP_CONTAINER,
        image=image,
        image_pull_policy=config.image_pull_policy,
        command=step_command(config),
        env=env,
        env_from=[_model(k8s.V1EnvFromSource, item) for item in settings.env_from] or None,
        resources=k8s.V1ResourceRequirements(
            requests=requirements["requests"] or None, limits=requirements["limits"] or None
        ),
        volume_mounts=[_model(k8s.V1VolumeMount, item) for item in settings.volume_mounts] or None,
        security_context=_model(k8s.V1SecurityContext, settings.security_context)
        if settings.security_context
        else None,
    )
    spec = k8s.V1PodSpec(
        restart_policy="Never",
        containers=[container],
        service_account_name=config.service_account_name,
        node_selector=dict(settings.node_selectors) or None,
        tolerations=[_model(k8s.V1Toleration, item) for item in settings.tolerations] or None,
        affinity=_model(k8s.V1Affinity, settings.affinity) if settings.affinity else None,
        volumes=[_model(k8s.V1Volume, item) for item in settings.volumes] or None,
        image_pull_secrets=[k8s.V1LocalObjectReference(name=n) for n in settings.image_pull_secrets]
        or None,
        host_ipc=settings.host_ipc or None,
        priority_class_name=settings.priority_class_name,
    )
    return k8s.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=k8s.V1ObjectMeta(
            name=pod_name(task, config.pod_name_prefix),
            namespace=config.kubernetes_namespace,
            labels=labels,
            annotations=annotations,
        ),
        spec=spec,
    )


def to_manifest(obj: Any) -> dict[str, Any]:
    """A client model as the JSON the API server receives."""
    manifest: dict[str, Any] = _api_client().sanitize_for_serialization(obj)
    return manifest


def _model(model: type[Any], data: dict[str, Any]) -> Any:
    """A client model from its API JSON (camelCase keys), nested models included.

    The client builds models from JSON only when reading a response; its deserialiser
    (the same one every client version since 12 has) is used on the settings' JSON, so
    what a user writes is read exactly as the API server's answer would be.
    """
    deserialize = _api_client()._ApiClient__deserialize
    return deserialize(data, model.__name__)


@functools.cache
def _api_client() -> Any:
    """One client for (de)serialising models; it never connects."""
    from kubernetes.client import ApiClient

    return ApiClient()
