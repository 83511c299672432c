"""The ``kubernetes`` (and ``aws``) workload manager's settings, from ``HEADRACE_*``.

Every variable of the kubernetes workload manager is read here; the ones the
settings name as JSON are parsed and checked for their shape, and every problem is
reported at once (see :mod:`headrace.server.workload.settings`).

Which image a runner Job runs (the three ways of the documentation):

1. ``BUILD_RUNNER_IMAGE=true``: a builder Job builds a runner image with the snapshot's
   requirements and pushes it to ``DOCKER_REGISTRY`` (required then);
2. else ``RUNNER_IMAGE``: one pre-built image for every run;
3. else the snapshot's own image (``RunJob.image``), pulled from the stack's registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headrace.server.workload.settings import EnvironmentReader

ENV_NAMESPACE = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE"
ENV_SERVICE_ACCOUNT = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT"
ENV_BUILD_RUNNER_IMAGE = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE"
ENV_DOCKER_REGISTRY = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY"
ENV_RUNNER_IMAGE = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE"
ENV_ENABLE_EXTERNAL_LOGS = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS"
ENV_POD_RESOURCES = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES"
ENV_TTL_SECONDS_AFTER_FINISHED = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TTL_SECONDS_AFTER_FINISHED"
ENV_NODE_SELECTOR = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NODE_SELECTOR"
ENV_TOLERATIONS = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TOLERATIONS"
ENV_JOB_BACKOFF_LIMIT = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_JOB_BACKOFF_LIMIT"
ENV_POD_FAILURE_POLICY = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_FAILURE_POLICY"
ENV_BUILDER_IMAGE = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILDER_IMAGE"
ENV_BUILDER_HELPER_IMAGE = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILDER_HELPER_IMAGE"
ENV_KUBECONFIG = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_KUBECONFIG"
ENV_CONTEXT = "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_CONTEXT"

DEFAULT_TTL_SECONDS = 2 * 24 * 3600
DEFAULT_BACKOFF_LIMIT = 0  # a second attempt would find its run already started
DEFAULT_BUILDER_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"
DEFAULT_BUILDER_HELPER_IMAGE = "busybox:1.36"
_RESOURCE_KEYS = {"requests", "limits"}


@dataclass(frozen=True)
class KubernetesWorkloadSettings:
    """What the manager's Jobs look like and where they go.

    Attributes:
        namespace: where runner and builder Jobs are created.
        service_account: the service account of their pods (pull, and push when
            building, rights on the registry come with it).
        build_runner_image: build a runner image per snapshot with a builder Job.
        docker_registry: where built runner images are pushed (``registry/repository``).
        runner_image: one pre-built runner image for every run (when not building).
        enable_external_logs: keep runner logs outside the cluster (``aws`` only).
        pod_resources: the runner container's ``{"requests": ..., "limits": ...}``.
        ttl_seconds_after_finished: how long finished Jobs stay (default 2 days).
        node_selector: the pods' node selector.
        tolerations: the pods' tolerations (Kubernetes JSON).
        job_backoff_limit: retries of a failed runner or builder pod (default 0).
        pod_failure_policy: the Jobs' ``podFailurePolicy`` (Kubernetes JSON, 1.26+).
        builder_image: the image that builds and pushes (kaniko's executor).
        builder_helper_image: a small image with ``sh`` that writes the build context.
        kubeconfig: a kubeconfig file; unset: the pod's service account in a cluster,
            else ``$KUBECONFIG`` or ``~/.kube/config``.
        context: the kubeconfig context (default: the file's current one).
    """

    namespace: str
    service_account: str
    build_runner_image: bool = False
    docker_registry: str | None = None
    runner_image: str | None = None
    enable_external_logs: bool = False
    pod_resources: dict[str, dict[str, str]] = field(default_factory=dict)
    ttl_seconds_after_finished: int = DEFAULT_TTL_SECONDS
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    job_backoff_limit: int = DEFAULT_BACKOFF_LIMIT
    pod_failure_policy: dict[str, Any] | None = None
    builder_image: str = DEFAULT_BUILDER_IMAGE
    builder_helper_image: str = DEFAULT_BUILDER_HELPER_IMAGE
    kubeconfig: str | None = None
    context: str | None = None


def read_settings(reader: EnvironmentReader) -> KubernetesWorkloadSettings:
    """The settings; every problem is recorded in ``reader`` (check it before use)."""
    namespace = reader.string(ENV_NAMESPACE, required=True, why="where runner Jobs go")
    account = reader.string(ENV_SERVICE_ACCOUNT, required=True, why="of the runner pods")
    build = reader.flag(ENV_BUILD_RUNNER_IMAGE)
    registry = reader.string(
        ENV_DOCKER_REGISTRY,
        required=build,
        why=f"{ENV_BUILD_RUNNER_IMAGE} is true: built runner images are pushed there",
    )
    resources = reader.json_value(
        ENV_POD_RESOURCES, dict, '{"requests": {"cpu": "500m", "memory": "1Gi"}}'
    )
    if resources is not None and (
        set(resources) - _RESOURCE_KEYS or not all(isinstance(v, dict) for v in resources.values())
    ):
        reader.problem(
            f"{ENV_POD_RESOURCES} may hold only 'requests' and 'limits' objects, "
            f"got keys {sorted(resources)}"
        )
        resources = None
    selector = reader.json_value(ENV_NODE_SELECTOR, dict, '{"pool": "runners"}')
    tolerations = reader.json_value(
        ENV_TOLERATIONS, list, '[{"key": "runners", "operator": "Exists"}]'
    )
    if tolerations is not None and not all(isinstance(t, dict) for t in tolerations):
        reader.problem(f"{ENV_TOLERATIONS} must be a JSON list of toleration objects")
        tolerations = None
    policy = reader.json_value(
        ENV_POD_FAILURE_POLICY,
        dict,
        '{"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]}',
    )
    if policy is not None and not isinstance(policy.get("rules"), list):
        reader.problem(f"{ENV_POD_FAILURE_POLICY} must be an object with a 'rules' list")
        policy = None
    values: dict[str, Any] = {
        "build_runner_image": build,
        "docker_registry": registry,
        "runner_image": reader.string(ENV_RUNNER_IMAGE),
        "enable_external_logs": reader.flag(ENV_ENABLE_EXTERNAL_LOGS),
        "pod_resources": {
            k: {n: str(q) for n, q in v.items()} for k, v in (resources or {}).items()
        },
        "ttl_seconds_after_finished": reader.integer(
            ENV_TTL_SECONDS_AFTER_FINISHED, DEFAULT_TTL_SECONDS
        ),
        "node_selector": {str(k): str(v) for k, v in (selector or {}).items()},
        "tolerations": tolerations or [],
        "job_backoff_limit": reader.integer(ENV_JOB_BACKOFF_LIMIT, DEFAULT_BACKOFF_LIMIT),
        "pod_failure_policy": policy,
        "builder_image": reader.string(ENV_BUILDER_IMAGE) or DEFAULT_BUILDER_IMAGE,
        "builder_helper_image": reader.string(ENV_BUILDER_HELPER_IMAGE)
        or DEFAULT_BUILDER_HELPER_IMAGE,
        "kubeconfig": reader.string(ENV_KUBECONFIG),
        "context": reader.string(ENV_CONTEXT),
    }
    # Missing required values are recorded problems; the settings are still returned
    # so the caller's own checks can add theirs before ``reader.check()`` raises.
    return KubernetesWorkloadSettings(
        namespace=namespace or "", service_account=account or "", **values
    )


def settings_from_environment(
    environ: Mapping[str, str], manager: str = "kubernetes"
) -> tuple[KubernetesWorkloadSettings, EnvironmentReader]:
    """Read the settings; the caller adds its own checks, then ``reader.check()``."""
    reader = EnvironmentReader(environ, manager)
    return read_settings(reader), reader
