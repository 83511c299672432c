"""Step pod manifests: built from the client's models, valid for every shipped schema."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.resource_settings import ResourceSettings
from headrace.config.spec import StepSpec
from headrace.exceptions import StackComponentError
from headrace.execution.orchestrators.kubernetes import manifests
from headrace.execution.step_task import StepTask
from headrace.stacks.flavors import get_flavor, validate_configuration
from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig
from kube_api_server import schema_versions, validate_manifest

RUN_ID = "0b6f6c1e-8f0a-4a8e-9d39-6d1f0c3b1a22"


def _task(invocation_id: str = "train_model", pipeline_name: str = "My_Pipeline") -> StepTask:
    return StepTask(
        run_id=RUN_ID,
        pipeline_name=pipeline_name,
        invocation_id=invocation_id,
        step=StepSpec(
            invocation_id=invocation_id, step_name="train", source="pkg.steps.train", code_hash="x"
        ),
        pipeline_config=PipelineConfiguration.empty(),
        snapshot_id=None,
        code=None,
        inputs={},
        store_url="postgresql://headrace@db:5432/headrace",
        artifact_store={"flavor": "s3", "path": "s3://bucket/prefix"},
        stack_id="stack-id",
        model_version_id=None,
    )


def _config(**values: Any) -> KubernetesOrchestratorConfig:
    flavor = get_flavor("orchestrator", "kubernetes")
    config = validate_configuration(flavor, values)
    assert isinstance(config, KubernetesOrchestratorConfig)
    return config


FULL_SETTINGS: dict[str, Any] = {
    "kubernetes_namespace": "ml-runs",
    "service_account_name": "headrace-steps",
    "image_pull_policy": "IfNotPresent",
    "labels": {"team": "search"},
    "pod_settings": {
        "node_selectors": {"cloud.google.com/gke-nodepool": "gpu-pool"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In", "values": ["a", "b"]}
                            ]
                        }
                    ]
                }
            }
        },
        "resources": {"limits": {"ephemeral-storage": "10Gi"}},
        "labels": {"cost-center": "ml"},
        "annotations": {"example.com/owner": "search team"},
        "env": {"LOG_LEVEL": "debug"},
        "env_from": [{"secretRef": {"name": "object-store-credentials"}}],
        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
        "volume_mounts": [{"name": "scratch", "mountPath": "/scratch"}],
        "image_pull_secrets": ["registry-credentials"],
        "host_ipc": True,
        "priority_class_name": "batch-low",
        "security_context": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    },
}


def test_every_setting_reaches_a_valid_manifest() -> None:
    config = _config(**FULL_SETTINGS)
    resources = ResourceSettings(cpu_count=1.5, memory="4GiB", gpu_count=1)
    pod = manifests.build_step_pod(_task(), config, "registry/steps:1", resources)
    manifest = manifests.to_manifest(pod)
    validate_manifest(manifest)  # strict, oldest and newest shipped schema

    spec = manifest["spec"]
    container = spec["containers"][0]
    assert manifest["metadata"]["namespace"] == "ml-runs"
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == "headrace-steps"
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "gpu-pool"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert spec["hostIPC"] is True and spec["priorityClassName"] == "batch-low"
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert container["volumeMounts"] == [{"mountPath": "/scratch", "name": "scratch"}]
    assert container["envFrom"] == [{"secretRef": {"name": "object-store-credentials"}}]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "runAsNonRoot": True}
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {
        "requests": {"cpu": "1.5", "memory": "4Gi"},
        "limits": {"memory": "4Gi", "nvidia.com/gpu": "1", "ephemeral-storage": "10Gi"},
    }
    labels = manifest["metadata"]["labels"]
    assert labels["team"] == "search" and labels["cost-center"] == "ml"
    assert labels[manifests.RUN_LABEL] == RUN_ID
    assert labels[manifests.STEP_LABEL] == "train_model"
    assert manifest["metadata"]["annotations"][manifests.INVOCATION_ANNOTATION] == "train_model"
    assert container["command"] == [
        "python",
        "-m",
        "headrace.execution.step_entrypoint",
        "--task-env",
        manifests.TASK_ENV,
    ]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LOG_LEVEL"] == "debug"
    assert StepTask.from_json(env[manifests.TASK_ENV]).to_dict() == _task().to_dict()


def test_a_minimal_manifest_is_valid_and_names_are_dns_labels() -> None:
    task = _task("Step With Spaces/And_Underscores" * 3, pipeline_name="UPPER__case!!")
    manifest = manifests.to_manifest(manifests.build_step_pod(task, _config(), "img"))
    validate_manifest(manifest)
    name = manifest["metadata"]["name"]
    assert len(name) <= 63 and name == name.lower() and name.startswith("upper-case-")
    other = manifests.pod_name(_task("Step With Spaces/And_Underscores" * 3 + "x"), None)
    assert other != name  # the digest keeps similar long names apart
    json.dumps(manifest)  # plain JSON data, ready for the API


def test_the_schemas_checked_are_1_24_compatible_and_load_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("kubernetes-validate tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    oldest, newest = schema_versions()
    assert tuple(map(int, oldest.split(".")[:2])) <= (1, 25)
    assert tuple(map(int, newest.split(".")[:2])) >= (1, 29)
    validate_manifest(manifests.to_manifest(manifests.build_step_pod(_task(), _config(), "i")))


def test_a_manifest_the_api_server_would_refuse_is_caught() -> None:
    import kubernetes_validate

    def broken(change: Any) -> dict[str, Any]:
        manifest = manifests.to_manifest(manifests.build_step_pod(_task(), _config(), "i"))
        change(manifest)
        return manifest

    for change in (
        lambda m: m["spec"].update(nodeSelectors={"a": "b"}),  # misspelled field
        lambda m: m["spec"].update(hostIPC="yes"),  # wrong type
        lambda m: m["spec"].pop("containers"),  # required field
        lambda m: m["spec"]["containers"][0]["env"].append({"value": "no name"}),
    ):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate_manifest(broken(change))


@pytest.mark.parametrize(
    ("memory", "quantity"),
    [("4GB", "4G"), ("512MiB", "512Mi"), ("1.5 GiB", "1.5Gi"), ("1024", "1024"), ("2TB", "2T")],
)
def test_memory_becomes_a_kubernetes_quantity(memory: str, quantity: str) -> None:
    assert manifests.memory_quantity(memory) == quantity


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kubernetes_namespce": "x"}, "kubernetes_namespace"),
        ({"pod_settings": {"node_selector": {"a": "b"}}}, "node_selector"),
        ({"pod_settings": {"resources": {"request": {"cpu": "1"}}}}, "requests"),
        ({"kubernetes_namespace": "Not_A_Namespace"}, "kubernetes_namespace"),
        ({"image_pull_policy": "Sometimes"}, "image_pull_policy"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(values: dict[str, Any], named: str) -> None:
    with pytest.raises(StackComponentError, match=named):
        _config(**values)


DRIVER_SETTINGS: dict[str, Any] = {
    **FULL_SETTINGS,
    "service_account_name": "headrace-driver",
    "step_pod_service_account_name": "headrace-steps",
    "orchestrator_pod_settings": {
        "node_selectors": {"cloud.google.com/gke-nodepool": "cpu-pool"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml"}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}},
        "labels": {"part": "driver"},
        "env": {"LOG_LEVEL": "info"},
    },
}


def test_a_driver_pod_carries_its_own_settings_and_a_valid_manifest() -> None:
    config = _config(**DRIVER_SETTINGS)
    pod = manifests.build_driver_pod(
        RUN_ID,
        "Nightly Training-2026_12_02",
        config,
        "registry/steps:1",
        {"HEADRACE_STORE_URL": "https://headrace.example.com"},
        ("a" * 64, "s3://bucket/prefix/code/x.tar.gz"),
    )
    manifest = manifests.to_manifest(pod)
    validate_manifest(manifest)

    spec = manifest["spec"]
    container = spec["containers"][0]
    assert manifest["metadata"]["namespace"] == "ml-runs"
    assert manifest["metadata"]["name"].startswith("nightly-training-2026-12-02-driver-")
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == "headrace-driver"
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "cpu-pool"}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "ml"}]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}}
    labels = manifest["metadata"]["labels"]
    assert labels[manifests.RUN_LABEL] == RUN_ID
    assert labels[manifests.ROLE_LABEL] == manifests.DRIVER_ROLE
    assert labels["part"] == "driver" and labels["team"] == "search"
    assert container["command"] == [
        "python",
        "-m",
        manifests.DRIVER_MODULE,
        "--run-id",
        RUN_ID,
        "--code-digest",
        "a" * 64,
        "--code-uri",
        "s3://bucket/prefix/code/x.tar.gz",
    ]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"LOG_LEVEL": "info", "HEADRACE_STORE_URL": "https://headrace.example.com"}


def test_step_pods_of_a_driver_pod_are_owned_by_it_and_use_their_account() -> None:
    config = _config(**DRIVER_SETTINGS)
    owner = manifests.owner_reference("nightly-driver-abc", "5d0c8f9e-uid")
    manifest = manifests.to_manifest(
        manifests.build_step_pod(_task(), config, "registry/steps:1", owner=owner)
    )
    validate_manifest(manifest)
    assert manifest["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": "nightly-driver-abc",
            "uid": "5d0c8f9e-uid",
            "blockOwnerDeletion": False,
        }
    ]
    assert manifest["spec"]["serviceAccountName"] == "headrace-steps"
    assert manifest["spec"]["nodeSelector"] == {"cloud.google.com/gke-nodepool": "gpu-pool"}
    # without a step account of its own, a step pod runs as the driver does
    plain = manifests.to_manifest(
        manifests.build_step_pod(_task(), _config(service_account_name="runner"), "i")
    )
    assert plain["spec"]["serviceAccountName"] == "runner"


def test_the_driver_rbac_is_valid_and_only_about_pods() -> None:
    account, role, binding = manifests.driver_rbac("ml-runs", "headrace-driver")
    for manifest in (account, role, binding):
        validate_manifest(manifest)
        assert manifest["metadata"]["namespace"] == "ml-runs"
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "headrace-driver"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods"],
            "verbs": ["create", "get", "list", "watch", "delete"],
        }
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "headrace-driver", "namespace": "ml-runs"}
    ]


def test_the_default_is_a_driver_pod_and_steps_in_it_need_one() -> None:
    config = _config()
    assert config.driver_pod and not config.run_steps_in_driver
    assert _config(run_steps_in_driver=True).run_steps_in_driver
    with pytest.raises(StackComponentError, match="run_steps_in_driver needs driver_pod"):
        _config(driver_pod=False, run_steps_in_driver=True)


def test_the_rbac_shown_in_the_docs_is_the_one_built() -> None:
    import re
    from pathlib import Path

    import yaml

    page = Path(__file__).resolve().parents[3] / "docs" / "kubernetes.md"
    section = page.read_text().split("### RBAC for the driver pod", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    shown = list(yaml.safe_load_all(block.group(1)))
    assert shown == manifests.driver_rbac("ml-runs", "headrace-driver")
