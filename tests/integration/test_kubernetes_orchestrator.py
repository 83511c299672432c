"""The Kubernetes orchestrator end to end against the fake API server (``kube_api_server``):
the official client over HTTP, manifests validated on creation, pods run as processes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.exceptions import RunFailedError
from headrace.execution.orchestrators.kubernetes import manifests
from kube_api_server import FakeKubernetes
from kube_stack import STEP_IMAGE


@step(enable_cache=False)
def make(value: int) -> int:
    return value + 1


@step(enable_cache=False, settings={"resources": {"cpu_count": 2, "memory": "1GB"}})
def twice(value: int) -> int:
    return value * 2


def test_each_step_runs_in_its_own_pod(repo: Path, kubernetes_stack: FakeKubernetes) -> None:
    step_settings = {"orchestrator.kubernetes": {"pod_settings": {"labels": {"stage": "two"}}}}

    @pipeline(enable_cache=False, settings={"resources": {"memory": "256MiB"}})
    def two_pods() -> None:
        twice.with_options(settings=step_settings)(make(1))

    run = two_pods()
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert run.steps["twice"].output.load() == 4
    created = {
        m["metadata"]["annotations"][manifests.INVOCATION_ANNOTATION]: m
        for m in kubernetes_stack.created
    }
    assert set(created) == {"make", "twice"}
    make_pod, twice_pod = created["make"], created["twice"]
    assert make_pod["spec"]["containers"][0]["image"] == STEP_IMAGE
    assert make_pod["spec"]["containers"][0]["resources"] == {
        "requests": {"memory": "256Mi"},
        "limits": {"memory": "256Mi"},
    }
    assert twice_pod["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "1G"},
        "limits": {"memory": "1G"},
    }
    assert twice_pod["metadata"]["labels"]["stage"] == "two"
    assert "stage" not in make_pod["metadata"]["labels"]
    assert all(m["metadata"]["labels"][manifests.RUN_LABEL] == run.id for m in created.values())
    # finished pods are removed; the steps' logs live in the artifact store
    assert sorted(kubernetes_stack.deleted) == sorted(
        m["metadata"]["name"] for m in created.values()
    )
    assert not kubernetes_stack.pods


def test_a_pod_that_never_starts_fails_its_step(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    settings = {"orchestrator.kubernetes": {"image": "missing/steps:1", "pod_startup_timeout_s": 1}}

    @pipeline(enable_cache=False, settings=settings)
    def unpullable() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="did not start within .*ErrImagePull") as info:
        unpullable()
    run = info.value.run  # type: ignore[attr-defined]
    assert run.steps["make"].status is ExecutionStatus.FAILED
    assert not kubernetes_stack.pods  # the stuck pod was deleted


def test_a_pod_the_api_refuses_fails_its_step_with_the_answer(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    @pipeline(
        enable_cache=False, settings={"orchestrator.kubernetes": {"kubernetes_namespace": "absent"}}
    )
    def nowhere() -> None:
        make(1)

    with pytest.raises(
        RunFailedError, match='Cannot create the pod.*404.*namespaces \\\\"absent\\\\" not found'
    ):
        nowhere()


def test_an_unreachable_cluster_fails_the_run_before_any_step(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = kubernetes_stack.root / "unreachable"
    config.write_text(
        kubernetes_stack.kubeconfig.read_text().replace(
            f":{kubernetes_stack.server.server_address[1]}", f":{port}"
        )
    )

    @pipeline(enable_cache=False, settings={"orchestrator.kubernetes": {"kubeconfig": str(config)}})
    def unreachable() -> None:
        make(1)

    with pytest.raises(
        RunFailedError,
        match=f"Cannot reach the Kubernetes API at http://127.0.0.1:{port}",
    ):
        unreachable()
    assert not kubernetes_stack.created


def test_without_an_image_the_run_says_how_to_set_one(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    @pipeline(enable_cache=False, settings={"orchestrator.kubernetes": {"image": None}})
    def imageless() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="needs an image for the step pods"):
        imageless()
    assert not kubernetes_stack.created


def test_a_run_that_cannot_reach_the_cluster_is_recorded_failed(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    from headrace.client import Client

    settings = {"orchestrator.kubernetes": {"kubeconfig": str(repo / "no-such-kubeconfig")}}

    @pipeline(enable_cache=False, settings=settings)
    def unconfigured() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="Cannot configure the Kubernetes client"):
        unconfigured()
    runs = Client().list_pipeline_runs()
    assert [r.status for r in runs] == [ExecutionStatus.FAILED]
    assert "Cannot configure the Kubernetes client" in (runs[0].status_reason or "")
