"""The docker and kubernetes deployers' outputs: the container command and the
Kubernetes manifests (validated against every shipped schema). No container engine or
cluster runs here, so what they would start is checked, not started."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from headrace.deployments.deployers.container import image_of, service_command
from headrace.deployments.deployers.docker import container_name, run_command
from headrace.deployments.deployers.kubernetes import manifests, object_name
from headrace.enums import DeploymentStatus, StackComponentType
from headrace.exceptions import DeploymentError, StackComponentError
from headrace.models import DeploymentResponse
from headrace.stacks.deployer_config import KubernetesDeployerConfig
from headrace.stacks.flavors import get_flavor, validate_configuration
from kube_api_server import validate_manifest

DEPLOYMENT_ID = "6f0d2b8e-1c3a-4f5e-9b7d-2a4c6e8f0a1b"


def _deployment(flavor: str, **configuration: Any) -> DeploymentResponse:
    values = validate_configuration(
        get_flavor(StackComponentType.DEPLOYER, flavor), configuration
    ).model_dump(mode="json")
    now = datetime.now(UTC)
    return DeploymentResponse(
        id=DEPLOYMENT_ID,
        created=now,
        updated=now,
        name="Scorer_v2",
        snapshot_id="s",
        stack_id="t",
        deployer_id="d",
        flavor=flavor,
        configuration=values,
        status=DeploymentStatus.PENDING,
    )


def test_the_docker_command_publishes_the_port_passes_the_store_and_runs_the_service(
    tmp_path: Path,
) -> None:
    deployment = _deployment(
        "docker",
        port=9123,
        environment={"MODEL": "big"},
        run_arguments=["--memory=2g"],
    )
    store_url = f"sqlite:///{tmp_path}/store/headrace.db"
    command = run_command("/usr/bin/docker", deployment, "repo/scorer:1", store_url)
    assert command[:3] == ["/usr/bin/docker", "run", "--detach"]
    assert (
        command[command.index("--name") + 1] == container_name(deployment) == "headrace-Scorer_v2"
    )
    assert command[command.index("--publish") + 1] == "9123:8000"
    assert f"HEADRACE_STORE_URL={store_url}" in command
    assert "MODEL=big" in command
    directory = str((tmp_path / "store").resolve())
    assert command[command.index("--volume") + 1] == f"{directory}:{directory}"
    image_at = command.index("repo/scorer:1")
    assert command.index("--memory=2g") < image_at
    assert command[image_at + 1 :] == service_command(deployment, 8000)
    assert command[image_at + 1 :][-4:] == ["--host", "0.0.0.0", "--port", "8000"]


def test_a_deployment_without_an_image_says_how_to_set_one() -> None:
    deployment = _deployment("docker")
    from headrace.models import SnapshotResponse

    snapshot = SnapshotResponse.model_construct(extra={"image": {"message": "no engine"}})
    with pytest.raises(DeploymentError, match="no engine.*--image="):
        image_of(deployment, snapshot)
    built = SnapshotResponse.model_construct(extra={"image": {"built": True, "tag": "hr:abc"}})
    assert image_of(deployment, built) == "hr:abc"


def test_kubernetes_manifests_are_a_valid_deployment_and_service() -> None:
    deployment = _deployment(
        "kubernetes",
        image="registry.example.com/scorer:1",
        namespace="serving",
        replicas=3,
        port=8080,
        service_type="LoadBalancer",
        store_url_secret="headrace-store",
        resources={"limits": {"cpu": "2", "memory": "1Gi"}},
    )
    workload, service = manifests(deployment, "registry.example.com/scorer:1")
    validate_manifest(workload)
    validate_manifest(service)
    name = object_name(deployment)
    assert name == "hr-scorer-v2"
    assert workload["kind"] == "Deployment" and service["kind"] == "Service"
    assert workload["metadata"]["namespace"] == service["metadata"]["namespace"] == "serving"
    assert workload["spec"]["replicas"] == 3
    container = workload["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == service_command(deployment, 8080)
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {
        "name": "headrace-store",
        "key": "url",
    }
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "1Gi"}
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == 8080


def test_kubernetes_deployer_configuration_is_checked() -> None:
    flavor = get_flavor(StackComponentType.DEPLOYER, "kubernetes")
    with pytest.raises(StackComponentError, match="'image' is required"):
        validate_configuration(flavor, {})
    with pytest.raises(StackComponentError, match="service_type"):
        validate_configuration(flavor, {"image": "x", "service_type": "Ingress"})
    with pytest.raises(StackComponentError, match="did you mean 'replicas'"):
        validate_configuration(flavor, {"image": "x", "replica": 2})
    assert isinstance(validate_configuration(flavor, {"image": "x"}), KubernetesDeployerConfig)


def test_every_deployer_flavor_is_registered_with_the_shared_limits() -> None:
    for name in ("local", "docker", "kubernetes"):
        keys = get_flavor(StackComponentType.DEPLOYER, name).allowed_keys
        assert {"threads", "max_request_bytes", "tracking", "startup_timeout_s"} <= set(keys)
    with pytest.raises(StackComponentError, match="allowed flavors: docker, kubernetes, local"):
        get_flavor(StackComponentType.DEPLOYER, "lambda")


def test_written_manifests_load_as_yaml_documents(tmp_path: Path) -> None:
    deployment = _deployment("kubernetes", image="img:1")
    text = yaml.safe_dump_all(manifests(deployment, "img:1"), sort_keys=False)
    kinds = [document["kind"] for document in yaml.safe_load_all(text)]
    assert kinds == ["Deployment", "Service"]
