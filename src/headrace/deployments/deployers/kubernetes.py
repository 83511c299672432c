"""The ``kubernetes`` deployer: the service as a Deployment behind a Service.

The manifests are built from the official client's models (``V1Deployment``,
``V1Service``) and serialised with the client's own sanitizer. They are always written
(``<output_directory>/<name>.yaml``, for ``kubectl apply -f``); with ``apply: true`` they
are also created in the cluster of ``kubernetes_context``, and the deployment's URL is
the Service's in-cluster name. The pods run the same service process as the other
flavors and reach the store through ``HEADRACE_STORE_URL`` from the Secret
``store_url_secret`` (key ``url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headrace.deployments.deployers.base import BaseDeployer
from headrace.deployments.deployers.container import image_of, service_command
from headrace.enums import DeploymentStatus
from headrace.exceptions import DeploymentError
from headrace.models import DeploymentResponse, DeploymentUpdate
from headrace.utils.env import ENV_STORE_URL

MANAGED_BY = "app.kubernetes.io/managed-by"
DEPLOYMENT_LABEL = "headrace.dev/deployment"


def _client() -> Any:
    try:
        import kubernetes
    except ImportError as exc:
        raise DeploymentError(
            "The kubernetes deployer needs the kubernetes client: "
            "pip install 'headrace[kubernetes]'."
        ) from exc
    return kubernetes


def object_name(deployment: DeploymentResponse) -> str:
    """The Deployment's and Service's name: a DNS-1123 label made from the deployment's."""
    from headrace.execution.orchestrators.kubernetes.manifests import dns_name

    return "hr-" + dns_name(deployment.name, 50)


def manifests(deployment: DeploymentResponse, image: str) -> list[dict[str, Any]]:
    """The Deployment and the Service of ``deployment``, as Kubernetes JSON."""
    kubernetes = _client()
    models = kubernetes.client
    configuration = deployment.configuration
    name = object_name(deployment)
    namespace = str(configuration.get("namespace") or "default")
    port = int(configuration.get("port") or 8000)
    labels = {MANAGED_BY: "headrace", DEPLOYMENT_LABEL: name}
    environment = []
    secret = configuration.get("store_url_secret")
    if secret:
        environment.append(
            models.V1EnvVar(
                name=ENV_STORE_URL,
                value_from=models.V1EnvVarSource(
                    secret_key_ref=models.V1SecretKeySelector(name=str(secret), key="url")
                ),
            )
        )
    probe = models.V1Probe(
        http_get=models.V1HTTPGetAction(path="/health", port=port),
        period_seconds=10,
    )
    container = models.V1Container(
        name="service",
        image=image,
        command=service_command(deployment, port),
        ports=[models.V1ContainerPort(container_port=port, name="http")],
        env=environment or None,
        readiness_probe=probe,
        liveness_probe=probe,
        resources=models.V1ResourceRequirements(**configuration["resources"])
        if configuration.get("resources")
        else None,
    )
    workload = models.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=models.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=models.V1DeploymentSpec(
            replicas=int(configuration.get("replicas") or 1),
            selector=models.V1LabelSelector(match_labels=labels),
            template=models.V1PodTemplateSpec(
                metadata=models.V1ObjectMeta(labels=labels),
                spec=models.V1PodSpec(containers=[container]),
            ),
        ),
    )
    service = models.V1Service(
        api_version="v1",
        kind="Service",
        metadata=models.V1ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=models.V1ServiceSpec(
            type=str(configuration.get("service_type") or "ClusterIP"),
            selector=labels,
            ports=[models.V1ServicePort(port=port, target_port=port, name="http")],
        ),
    )
    sanitize = kubernetes.client.ApiClient().sanitize_for_serialization
    return [sanitize(workload), sanitize(service)]


class KubernetesDeployer(BaseDeployer):
    """Writes (and optionally applies) a Deployment and a Service per deployment."""

    name = "kubernetes"

    def provision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        import yaml

        snapshot = self.store.get_snapshot(deployment.snapshot_id)
        documents = manifests(deployment, image_of(deployment, snapshot))
        path = self._manifest_path(deployment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
        handle = {"manifest": str(path), "applied": False}
        configuration = deployment.configuration
        if not configuration.get("apply"):
            return self.records.update_deployment(
                deployment.id,
                DeploymentUpdate(
                    status=DeploymentStatus.PROVISIONED,
                    status_reason=f"manifests written to {path}: kubectl apply -f {path}",
                    handle=handle,
                ),
            )
        self._apply(deployment, documents)
        name, namespace = object_name(deployment), documents[0]["metadata"]["namespace"]
        url = f"http://{name}.{namespace}.svc.cluster.local:{configuration.get('port') or 8000}"
        return self.records.update_deployment(
            deployment.id,
            DeploymentUpdate(
                status=DeploymentStatus.RUNNING, url=url, handle={**handle, "applied": True}
            ),
        )

    def _apis(self, deployment: DeploymentResponse) -> tuple[Any, Any]:
        kubernetes = _client()
        try:
            api_client = kubernetes.config.new_client_from_config(
                context=deployment.configuration.get("kubernetes_context")
            )
        except (kubernetes.config.ConfigException, OSError, TypeError) as exc:
            raise DeploymentError(
                f"Cannot configure the Kubernetes client (context "
                f"{deployment.configuration.get('kubernetes_context') or 'current'}): {exc}."
            ) from exc
        return kubernetes.client.AppsV1Api(api_client), kubernetes.client.CoreV1Api(api_client)

    def _apply(self, deployment: DeploymentResponse, documents: list[dict[str, Any]]) -> None:
        apps, core = self._apis(deployment)
        namespace = documents[0]["metadata"]["namespace"]
        try:
            apps.create_namespaced_deployment(namespace, documents[0])
            core.create_namespaced_service(namespace, documents[1])
        except Exception as exc:
            self.mark(deployment, DeploymentStatus.FAILED, f"the cluster refused: {exc}")
            raise DeploymentError(
                f"Deployment {deployment.name!r}: the cluster refused its manifests: {exc}"
            ) from exc

    def refresh(self, deployment: DeploymentResponse) -> DeploymentResponse:
        return deployment  # the cluster keeps the pods running; kubectl shows their state

    def deprovision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        if deployment.handle.get("applied"):
            apps, core = self._apis(deployment)
            name = object_name(deployment)
            namespace = str(deployment.configuration.get("namespace") or "default")
            apps.delete_namespaced_deployment(name, namespace)
            core.delete_namespaced_service(name, namespace)
        return self.mark(deployment, DeploymentStatus.STOPPED, "deprovisioned")

    def logs(self, deployment: DeploymentResponse, follow: bool = False) -> Iterator[str]:
        name = object_name(deployment)
        yield (
            f"The service runs in Kubernetes: kubectl logs -l {DEPLOYMENT_LABEL}={name} "
            f"-n {deployment.configuration.get('namespace') or 'default'}"
            + (" --follow" if follow else "")
        )

    def _manifest_path(self, deployment: DeploymentResponse) -> Path:
        directory = deployment.configuration.get("output_directory")
        if directory:
            return Path(str(directory)).expanduser().resolve() / f"{deployment.name}.yaml"
        from headrace.artifacts.loading import artifact_store_of

        root = Path(artifact_store_of(self.store, deployment.stack_id).path)
        if not root.is_absolute():
            root = Path.cwd()
        return root / "deployments" / f"{deployment.name}.yaml"
