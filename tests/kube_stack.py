"""Fixtures: a fake Kubernetes API (``kube_api_server``) and a stack that uses it.

``kubernetes_stack`` registers a ``kubernetes`` orchestrator whose kubeconfig points at
the fake API server and makes it, with the repository's artifact store, the active
stack; every step of a pipeline run then goes through the orchestrator's real code path
(the official client over HTTP, the pod manifests, the step entry point in a process).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kube_api_server import FakeKubernetes, fake_kubernetes

STEP_IMAGE = "registry.example.com/headrace/steps:test"


@pytest.fixture
def fake_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubernetes]:
    """A running fake Kubernetes API server (with its kubelet)."""
    with fake_kubernetes(tmp_path_factory.mktemp("kube")) as fake:
        yield fake


@pytest.fixture
def kubernetes_stack(fake_kube: FakeKubernetes) -> FakeKubernetes:
    """Make the active stack of the current store run steps on the fake cluster."""
    from headrace.enums import StackComponentType
    from headrace.models.stack import StackComponentRequest, StackRequest
    from headrace.store.factory import get_store

    project = Path.cwd() / "pyproject.toml"  # the code archive every task carries
    if not project.exists():
        project.write_text("[project]\nname = 'k8s-test-project'\n")
    store = get_store()
    current = store.get_active_stack()
    orchestrator = store.create_stack_component(
        StackComponentRequest(
            name="k8s",
            type=StackComponentType.ORCHESTRATOR,
            flavor="kubernetes",
            configuration={
                "kubeconfig": str(fake_kube.kubeconfig),
                "image": STEP_IMAGE,
                "poll_interval_s": 0.05,
            },
        )
    )
    stack = store.create_stack(
        StackRequest(
            name="kubernetes",
            components={
                StackComponentType.ORCHESTRATOR: orchestrator.id,
                StackComponentType.ARTIFACT_STORE: current.artifact_store.id,
            },
        )
    )
    store.set_active_stack(stack.id)
    return fake_kube


def pod_manifests(fake: FakeKubernetes) -> list[dict[str, object]]:
    """Every pod manifest the fake API server accepted."""
    return list(fake.created)
