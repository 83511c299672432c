"""The Kubernetes orchestrator end to end against the fake API server (``kube_api_server``)."""

from __future__ import annotations

from pathlib import Path

from headrace import ExecutionStatus, pipeline, step
from kube_api_server import FakeKubernetes


@step(enable_cache=False)
def make(value: int) -> int:
    return value + 1


@step(enable_cache=False)
def twice(value: int) -> int:
    return value * 2


def test_each_step_runs_in_its_own_pod(repo: Path, kubernetes_stack: FakeKubernetes) -> None:
    @pipeline(enable_cache=False)
    def two_pods() -> None:
        twice(make(1))

    run = two_pods()
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert run.steps["twice"].output.load() == 4
    created = kubernetes_stack.created
    assert len(created) == 2
