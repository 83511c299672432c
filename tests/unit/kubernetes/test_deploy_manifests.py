"""The server's Kubernetes manifests (``deploy/kubernetes``) and image definition
(``deploy/Dockerfile``): valid for every shipped Kubernetes schema, and consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kube_api_server import validate_manifest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
MANIFESTS = sorted(
    p for p in (DEPLOY / "kubernetes").glob("*.yaml") if p.name != "kustomization.yaml"
)


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d
        for d in _documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents
    for document in documents:
        validate_manifest(document)  # strict: a misspelled field fails


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS if "example" not in p.name)


def test_the_server_reads_its_database_url_from_a_secret() -> None:
    deployment = _one("Deployment", "headrace-server")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["command"] + container["args"] == [
        "headrace",
        "server",
        "start",
        "--host",
        "0.0.0.0",
        "--port",
        "8237",
        "--database-url",
        "$(DATABASE_URL)",
    ]
    env = {e["name"]: e for e in container["env"]}
    secret_ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = _one("Secret", secret_ref["name"])
    assert secret_ref["key"] in secret["stringData"]
    assert secret["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert pod["spec"]["serviceAccountName"] == "headrace-server"
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    service = _one("Service", "headrace-server")
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


def test_the_workload_manager_may_create_and_remove_jobs_and_pods_of_runs() -> None:
    role = _one("Role", "headrace-workload-manager")
    rights = {
        (g, r): set(rule["verbs"])
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    for resource in (("", "pods"), ("batch", "jobs")):
        assert {"create", "get", "list", "watch", "delete"} <= rights[resource]
    binding = _one("RoleBinding", "headrace-workload-manager")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    accounts = {(s["namespace"], s["name"]) for s in binding["subjects"]}
    for namespace, name in accounts:
        assert _one("ServiceAccount", name)["metadata"]["namespace"] == namespace
    namespaces = {d["metadata"]["name"] for d in _documents() if d["kind"] == "Namespace"}
    assert role["metadata"]["namespace"] in namespaces


def test_the_image_installs_this_package_and_starts_the_server() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    root = DEPLOY.parent
    for source in re.findall(r"^COPY (.+) \S+$", text, flags=re.MULTILINE):
        for name in source.split():
            assert (root / name).exists(), f"COPY {name}: not in the build context"
    assert re.search(r"^FROM python:3\.1[1-9]", text, flags=re.MULTILINE)
    assert 'pip install ".[${EXTRAS}]"' in text
    assert re.search(r"^USER 10001", text, flags=re.MULTILINE)  # as runAsUser in the Deployment
    assert 'CMD ["headrace", "server", "start", "--host", "0.0.0.0", "--port", "8237"]' in text
