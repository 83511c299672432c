"""Pod manifests of driver and step pods (and the driver's RBAC), built from the
official client's models.

A driver pod runs ``python -m headrace.execution.orchestrators.kubernetes.driver
--run-id RUN``; it reads the run, its spec and its stack from the store (the store URL
is its one environment variable of ours) and creates the step pods, each with an
owner reference to the driver pod.

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
    from kubernetes.client import V1OwnerReference, V1Pod

    from headrace.config.resource_settings import ResourceSettings
    from headrace.execution.step_task import StepTask
    from headrace.stacks.kubernetes_config import (
        KubernetesOrchestratorConfig,
        KubernetesPodSettings,
    )

TASK_ENV = "HEADRACE_STEP_TASK"
STEP_CONTAINER = "step"
DRIVER_CONTAINER = "driver"
DRIVER_MODULE = "headrace.execution.orchestrators.kubernetes.driver"
ROLE_LABEL = "headrace.dev/role"
DRIVER_ROLE = "driver"
RUN_NAME_ANNOTATION = "headrace.dev/run-name"
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
    owner: V1OwnerReference | None = None,
) -> V1Pod:
    """The pod that runs ``task`` (``restartPolicy: Never``: the step runner retries a
    failed step itself, as its retry settings say).

    ``owner``: the driver pod, when the driver runs in one; Kubernetes' garbage
    collector then deletes the step pods with it (a driver pod that dies or is deleted
    leaves no step pod behind).
    """
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
    metadata = k8s.V1ObjectMeta(
        name=pod_name(task, config.pod_name_prefix),
        namespace=config.kubernetes_namespace,
        labels=labels,
        annotations=annotations,
        owner_references=[owner] if owner is not None else None,
    )
    env = {**settings.env, TASK_ENV: task.to_json()}
    requirements = container_resources(resources, settings)
    return _pod(
        metadata,
        STEP_CONTAINER,
        step_command(config),
        env,
        requirements,
        image,
        config,
        settings,
        config.step_service_account,
    )


def build_driver_pod(
    run_id: str,
    run_name: str,
    config: KubernetesOrchestratorConfig,
    image: str,
    environment: dict[str, str],
    code: tuple[str, str] | None = None,
    resources: ResourceSettings | None = None,
) -> V1Pod:
    """The driver pod of a run: ``python -m headrace.execution.orchestrators.kubernetes.
    driver --run-id RUN`` with the store's URL in ``environment``; everything else (the
    spec, the stack, the configuration) the driver reads from the store.

    ``code``: the digest and URI of the run's code archive in the artifact store when
    the run is not a snapshot's that records one.
    """
    from kubernetes import client as k8s

    settings = config.driver_pod_settings
    labels = {
        **config.labels,
        **settings.labels,
        MANAGED_BY: "headrace",
        RUN_LABEL: label_value(run_id),
        ROLE_LABEL: DRIVER_ROLE,
    }
    annotations = {**settings.annotations, RUN_NAME_ANNOTATION: run_name}
    metadata = k8s.V1ObjectMeta(
        name=driver_pod_name(run_id, run_name, config.pod_name_prefix),
        namespace=config.kubernetes_namespace,
        labels=labels,
        annotations=annotations,
    )
    command = [config.python, "-m", DRIVER_MODULE, "--run-id", run_id]
    if code is not None:
        command += ["--code-digest", code[0], "--code-uri", code[1]]
    env = {**settings.env, **environment}
    requirements = container_resources(resources, settings)
    return _pod(
        metadata,
        DRIVER_CONTAINER,
        command,
        env,
        requirements,
        image,
        config,
        settings,
        config.service_account_name,
    )


def driver_pod_name(run_id: str, run_name: str, prefix: str | None) -> str:
    """The driver pod's name: ``<prefix or run name>-driver-<digest of the run id>``."""
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:10]
    return f"{dns_name(prefix or run_name, 40)}-driver-{digest}"


def owner_reference(name: str, uid: str) -> V1OwnerReference:
    """A reference to the driver pod ``name`` (its ``uid``) for the pods it creates."""
    from kubernetes import client as k8s

    return k8s.V1OwnerReference(
        api_version="v1", kind="Pod", name=name, uid=uid, block_owner_deletion=False
    )


def driver_rbac(namespace: str, service_account: str) -> list[dict[str, Any]]:
    """The ServiceAccount, Role and RoleBinding a driver pod runs with: it may create,
    read, list and delete the pods of its namespace (the step pods), nothing else."""
    from kubernetes import client as k8s

    role_name = f"{dns_name(service_account, 40)}-pods"
    account = k8s.V1ServiceAccount(
        api_version="v1",
        kind="ServiceAccount",
        metadata=k8s.V1ObjectMeta(name=service_account, namespace=namespace),
    )
    role = k8s.V1Role(
        api_version="rbac.authorization.k8s.io/v1",
        kind="Role",
        metadata=k8s.V1ObjectMeta(name=role_name, namespace=namespace),
        rules=[
            k8s.V1PolicyRule(
                api_groups=[""],
                resources=["pods"],
                verbs=["create", "get", "list", "watch", "delete"],
            )
        ],
    )
    binding = k8s.V1RoleBinding(
        api_version="rbac.authorization.k8s.io/v1",
        kind="RoleBinding",
        metadata=k8s.V1ObjectMeta(name=role_name, namespace=namespace),
        role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=role_name),
        subjects=[
            k8s.RbacV1Subject(kind="ServiceAccount", name=service_account, namespace=namespace)
        ],
    )
    return [to_manifest(account), to_manifest(role), to_manifest(binding)]


def _pod(
    metadata: Any,
    container_name: str,
    command: list[str],
    environment: dict[str, str],
    requirements: dict[str, dict[str, Any]],
    image: str,
    config: KubernetesOrchestratorConfig,
    settings: KubernetesPodSettings,
    service_account: str | None,
) -> V1Pod:
    """A ``restartPolicy: Never`` pod of one container with ``settings`` applied."""
    from kubernetes import client as k8s

    env = [k8s.V1EnvVar(name=name, value=value) for name, value in environment.items()]
    container = k8s.V1Container(
        name=container_name,
        image=image,
        image_pull_policy=config.image_pull_policy,
        command=command,
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
        service_account_name=service_account,
        node_selector=dict(settings.node_selectors) or None,
        tolerations=[_model(k8s.V1Toleration, item) for item in settings.tolerations] or None,
        affinity=_model(k8s.V1Affinity, settings.affinity) if settings.affinity else None,
        volumes=[_model(k8s.V1Volume, item) for item in settings.volumes] or None,
        image_pull_secrets=[k8s.V1LocalObjectReference(name=n) for n in settings.image_pull_secrets]
        or None,
        host_ipc=settings.host_ipc or None,
        priority_class_name=settings.priority_class_name,
    )
    return k8s.V1Pod(api_version="v1", kind="Pod", metadata=metadata, spec=spec)


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
