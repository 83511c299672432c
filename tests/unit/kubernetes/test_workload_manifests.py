"""The kubernetes workload manager's objects (runner Job, builder Job, RBAC): built from
the client's models and valid, strictly, for the oldest and newest shipped Kubernetes
schema; the shipped server RBAC (``deploy/kubernetes/rbac.yaml``) grants what the
manager calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from headrace.server.workload import kubernetes_manifests as manifests
from headrace.server.workload.base import RunJob
from headrace.server.workload.kubernetes_settings import (
    DEFAULT_TTL_SECONDS,
    KubernetesWorkloadSettings,
    settings_from_environment,
)
from kube_api_server import validate_manifest

RUN_ID = "0b6f6c1e-8f0a-4a8e-9d39-6d1f0c3b1a22"
DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes"
FULL = {
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE": "headrace-runs",
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT": "headrace-runner",
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE": "true",
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY": (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml"
    ),
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES": (
        '{"requests": {"cpu": 1}, "limits": {"memory": "2Gi"}}'
    ),
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TTL_SECONDS_AFTER_FINISHED": "3600",
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NODE_SELECTOR": '{"kubernetes.io/arch": "amd64"}',
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TOLERATIONS": (
        '[{"key": "batch", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}]'
    ),
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_JOB_BACKOFF_LIMIT": "1",
    "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_FAILURE_POLICY": (
        '{"rules": [{"action": "Ignore", "onPodConditions": '
        '[{"type": "DisruptionTarget", "status": "True"}]}]}'
    ),
}


def _settings(environ: dict[str, str]) -> KubernetesWorkloadSettings:
    settings, reader = settings_from_environment(environ)
    reader.check()
    return settings


def _job(**changes: Any) -> RunJob:
    values: dict[str, Any] = {
        "run_id": RUN_ID,
        "snapshot_id": "snap",
        "command": ("-m", "headrace.execution.snapshot_runs", RUN_ID),
        "environment": {"HEADRACE_STORE_URL": "postgresql://db/headrace"},
        **changes,
    }
    return RunJob(**values)


@pytest.mark.parametrize(
    "environ", [FULL, {k: FULL[k] for k in list(FULL)[:2]}], ids=["full", "minimal"]
)
def test_runner_jobs_are_valid_kubernetes(environ: dict[str, str]) -> None:
    settings = _settings(environ)
    for job, builder in ((_job(), None), (_job(timeout_s=30), "headrace-build-0123")):
        manifest = manifests.to_manifest(
            manifests.runner_job(job, settings, "runner:1", builder=builder)
        )
        validate_manifest(manifest)
        assert manifest["metadata"]["name"] == f"headrace-run-{RUN_ID}"
        assert manifest["spec"]["suspend"] is (builder is not None)
        assert manifest["spec"]["ttlSecondsAfterFinished"] == (
            3600 if environ is FULL else DEFAULT_TTL_SECONDS
        )


def test_builder_jobs_are_valid_kubernetes_and_tag_images_by_content() -> None:
    settings = _settings(FULL)
    dockerfile = manifests.runner_dockerfile(["headrace[s3]==0.1.0", "scikit-learn>=1.4"])
    assert "'scikit-learn>=1.4'" in dockerfile  # quoted for the shell
    image = manifests.runner_image_tag(settings.docker_registry or "", dockerfile)
    assert image.startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/headrace-runner:")
    assert image == manifests.runner_image_tag(settings.docker_registry or "", dockerfile)
    other = manifests.runner_dockerfile(["headrace==0.1.0"])
    assert manifests.runner_image_tag("r", other) != manifests.runner_image_tag("r", dockerfile)
    manifest = manifests.to_manifest(manifests.builder_job(image, dockerfile, settings))
    validate_manifest(manifest)
    pod = manifest["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["env"] == [
        {"name": manifests.DOCKERFILE_ENV, "value": dockerfile}
    ]
    assert pod["containers"][0]["image"].startswith("gcr.io/kaniko-project/executor:")
    assert pod["serviceAccountName"] == "headrace-runner"  # pushes with its rights


def test_generated_rbac_is_valid_and_the_shipped_rbac_grants_it() -> None:
    generated = manifests.rbac_manifests("headrace-runs", "headrace", "headrace-server")
    for manifest in generated:
        validate_manifest(manifest)
    shipped = [d for d in yaml.safe_load_all((DEPLOY / "rbac.yaml").read_text()) if d]
    role = next(d for d in shipped if d["kind"] == "Role")
    binding = next(d for d in shipped if d["kind"] == "RoleBinding")
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    for rule in manifests.REQUIRED_RULES:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert set(rule["verbs"]) <= granted[(group, resource)], (group, resource)
    assert role["metadata"]["namespace"] == generated[0]["metadata"]["namespace"]
    assert {
        "kind": "ServiceAccount",
        "name": "headrace-server",
        "namespace": "headrace",
    } in binding["subjects"]


def test_names_are_dns_labels_whatever_the_run_id() -> None:
    name = manifests.runner_job_name("Weird_ID/with spaces and a very long tail " * 3)
    assert len(name) <= 63 and name == name.lower() and not name.endswith("-")
    assert len(manifests.builder_job_name("registry/x:" + "a" * 200)) <= 63


def test_the_shipped_server_runs_snapshots_as_jobs_in_the_runs_namespace() -> None:
    documents = [
        d
        for path in sorted(DEPLOY.glob("*.yaml"))
        for d in yaml.safe_load_all(path.read_text())
        if d
    ]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    environ = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert environ["HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE"] == "kubernetes"
    settings = _settings(environ)  # the shipped settings are complete and well formed
    accounts = {
        (d["metadata"]["namespace"], d["metadata"]["name"])
        for d in documents
        if d["kind"] == "ServiceAccount"
    }
    assert (settings.namespace, settings.service_account) in accounts
    assert settings.runner_image


def test_the_runner_image_installs_this_package_and_runs_the_runner() -> None:
    import re

    text = (DEPLOY.parent / "runner.Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", text, flags=re.MULTILINE):
        for name in source.split():
            assert (DEPLOY.parents[1] / name).exists(), f"COPY {name}: not in the build context"
    assert re.search(r"^FROM python:3\.1[1-9]", text, flags=re.MULTILINE)
    assert re.search(r"^USER 10001", text, flags=re.MULTILINE)
    job = manifests.runner_job(_job(), _settings(dict(list(FULL.items())[:2])), "runner:1")
    command = manifests.to_manifest(job)["spec"]["template"]["spec"]["containers"][0]["command"]
    entrypoint = re.search(r'^ENTRYPOINT \["python", "-m", "([\w.]+)"\]', text, re.MULTILINE)
    assert entrypoint is not None and command[:3] == ["python", "-m", entrypoint.group(1)]
