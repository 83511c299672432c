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
