"""The connection to the cluster: the official client's ``CoreV1Api``.

In a pod (``incluster``) the pod's service account token is used; elsewhere a kubeconfig
file (``kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``) and its context
(``kubernetes_context``, else the file's current context). The client is imported here,
only when a run uses the ``kubernetes`` flavor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.exceptions import OrchestratorError

if TYPE_CHECKING:
    from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig

INSTALL_HINT = "pip install 'headrace[kubernetes]'"


def import_client() -> Any:
    """The ``kubernetes`` package, or an error saying how to install it."""
    try:
        import kubernetes
    except ImportError as exc:
        raise OrchestratorError(
            f"The kubernetes orchestrator needs the kubernetes client: {INSTALL_HINT}."
        ) from exc
    return kubernetes


def core_api(config: KubernetesOrchestratorConfig) -> Any:
    """A ``CoreV1Api`` for the configured cluster.

    Raises:
        OrchestratorError: no usable configuration (names the file/context and how to
            set them).
    """
    kubernetes = import_client()
    try:
        if config.incluster:
            kubernetes.config.load_incluster_config()
            api_client = kubernetes.client.ApiClient()
        else:
            api_client = kubernetes.config.new_client_from_config(
                config_file=config.kubeconfig, context=config.kubernetes_context
            )
    except (kubernetes.config.ConfigException, OSError, TypeError) as exc:
        where = (
            "the pod's service account"
            if config.incluster
            else (
                f"kubeconfig {config.kubeconfig or '$KUBECONFIG or ~/.kube/config'}"
                f" (context {config.kubernetes_context or 'current'})"
            )
        )
        raise OrchestratorError(
            f"Cannot configure the Kubernetes client from {where}: {exc}. Set "
            "'kubeconfig' / 'kubernetes_context' on the orchestrator component, or "
            "'incluster: true' when running inside the cluster."
        ) from exc
    return kubernetes.client.CoreV1Api(api_client)


def api_host(api: Any) -> str:
    """The API server an API object talks to, for messages."""
    api_client = getattr(api, "api_client", None)
    configuration = getattr(api_client, "configuration", None)
    return str(getattr(configuration, "host", "the configured cluster"))


def check_namespace(api: Any, namespace: str, run_id: str) -> None:
    """Check that the cluster answers and the run's pods in ``namespace`` can be listed.

    Raises:
        OrchestratorError: the API refused (names the namespace and the rights needed)
            or cannot be reached (names its address).
    """
    from headrace.execution.orchestrators.kubernetes.manifests import run_selector

    try:
        api.list_namespaced_pod(namespace, label_selector=run_selector(run_id), limit=1)
    except import_client().client.ApiException as exc:
        raise OrchestratorError(
            f"The Kubernetes API at {api_host(api)} refused to list pods in namespace "
            f"{namespace!r} ({exc.status} {exc.reason}). Check that the namespace "
            "exists and that your credentials may create, list and delete pods there."
        ) from exc
    except Exception as exc:  # urllib3 connection errors and the like
        raise OrchestratorError(
            f"Cannot reach the Kubernetes API at {api_host(api)}: {type(exc).__name__}: "
            f"{exc}. Check the kubeconfig context (kubectl cluster-info)."
        ) from exc
