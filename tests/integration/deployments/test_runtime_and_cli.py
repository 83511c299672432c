"""The runtime in this process (tracked and untracked give the same outputs), the CLI,
the container flavors against a real store, and a server's tokens."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml
from deployment_project import expected
from typer.testing import CliRunner

from headrace.cli.main import app
from headrace.client import Client
from headrace.deployments import deploy_snapshot, get_deployment, list_deployments
from headrace.deployments.runtime import DeploymentRuntime
from headrace.enums import DeploymentStatus, StackComponentType
from headrace.exceptions import DeploymentError, RunConfigurationError
from headrace.models import PipelineRunFilter, SnapshotResponse
from headrace.store.base import Store

RUNNER = CliRunner(env={"COLUMNS": "200"})

SHAPES = textwrap.dedent(
    """
    from typing import Annotated

    from headrace import pipeline, step


    @step
    def split(n: int) -> tuple[Annotated[int, "low"], Annotated[int, "high"]]:
        return n // 2, n - n // 2


    @step
    def both(values: list[int], scale: float = 1.0) -> float:
        return sum(values) * scale


    @pipeline(enable_cache=False)
    def shapes(n: int = 5, scale: float = 1.0):
        low, high = split(n)
        return both([low, high, low], scale=scale), high
    """
)


def test_tracked_and_untracked_invocations_give_the_same_outputs(
    project: Path, store: Store
) -> None:
    (project / "shapes.py").write_text(SHAPES)
    import shapes  # type: ignore[import-not-found]

    snapshot = shapes.shapes.create_snapshot(name="shapes")
    tracked = DeploymentRuntime(store, snapshot, tracking=True)
    untracked = DeploymentRuntime(store, snapshot, tracking=False)
    assert tracked.output_names == ["output", "high"]
    runs = store.list_runs(PipelineRunFilter(size=1)).total
    for parameters in ({}, {"n": 9}, {"n": 9, "scale": 0.5}):
        first, second = tracked.invoke(parameters), untracked.invoke(parameters)
        assert first.outputs == second.outputs
        assert second.run_id is None and first.run_id is not None
    assert untracked.invoke({"n": 9, "scale": 0.5}).outputs == {"output": 6.5, "high": 5}
    assert store.list_runs(PipelineRunFilter(size=1)).total == runs + 3
    with pytest.raises(RunConfigurationError) as refused:
        untracked.invoke({"n": "x", "scale": "y", "other": 1})
    assert len(refused.value.problems) == 3


def test_the_cli_deploys_lists_invokes_and_deletes(
    trio_snapshot: SnapshotResponse, store: Store
) -> None:
    deployed = RUNNER.invoke(
        app, ["pipeline", "snapshot", "deploy", "--name", "cli", "trio", "--no-tracking"]
    )
    assert deployed.exit_code == 0, deployed.output
    assert "Deployment 'cli' is running." in deployed.output
    key = deployed.output.split("Bearer key (shown only now, store it): ")[1].split()[0]
    listed = RUNNER.invoke(app, ["deployment", "list"])
    assert "cli" in listed.output and "running" in listed.output and "off" in listed.output
    answer = RUNNER.invoke(
        app, ["deployment", "invoke", "cli", "--x=2", "--label", "two", "--auth-key", key]
    )
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.output)["outputs"] == expected(2, "two")
    refused = RUNNER.invoke(app, ["deployment", "invoke", "cli", "--x=2"])
    assert refused.exit_code == 1 and "401" in refused.output
    bad = RUNNER.invoke(app, ["deployment", "invoke", "cli", "--x=a", "--y=1", "--auth-key", key])
    assert bad.exit_code == 1 and "422" in bad.output and "parameters.y" in bad.output
    described = RUNNER.invoke(app, ["deployment", "describe", "cli"])
    assert "tracking" in described.output and "required" in described.output
    assert key not in described.output
    logs = RUNNER.invoke(app, ["deployment", "logs", "cli"])
    assert "listens on" in logs.output
    stopped = RUNNER.invoke(app, ["deployment", "deprovision", "cli"])
    assert "is stopped" in stopped.output
    deleted = RUNNER.invoke(app, ["deployment", "delete", "cli", "--yes"])
    assert deleted.exit_code == 0 and list_deployments() == []


def test_pipeline_deploy_snapshots_the_source_and_serves_it(
    deployer_stack: Store, project: Path
) -> None:
    result = RUNNER.invoke(
        app, ["pipeline", "deploy", "--name", "fromsource", "trio.trio", "--no-auth"]
    )
    assert result.exit_code == 0, result.output
    deployment = get_deployment("fromsource")
    assert (
        deployment_store_snapshot(deployer_stack, deployment.snapshot_id) == "deployment-fromsource"
    )
    answer = httpx.post(f"{deployment.url}/invoke", json={"parameters": {"x": 3}})
    assert answer.json()["outputs"] == expected(3)


def deployment_store_snapshot(store: Store, snapshot_id: str) -> str | None:
    """The name of a snapshot."""
    return store.get_snapshot(snapshot_id).name


def test_deployer_components_join_stacks_from_the_cli(project: Path, store: Store) -> None:
    registered = RUNNER.invoke(
        app, ["deployer", "register", "k8s", "--flavor=kubernetes", "--image=img:1", "--replicas=2"]
    )
    assert registered.exit_code == 0, registered.output
    bad = RUNNER.invoke(app, ["deployer", "register", "bad", "--flavor=local", "--thread=2"])
    assert bad.exit_code == 1 and "did you mean 'threads'" in bad.output
    stack = RUNNER.invoke(
        app, ["stack", "register", "cluster", "-o", "default", "-a", "default", "-D", "k8s"]
    )
    assert stack.exit_code == 0, stack.output
    assert Client().get_stack("cluster").deployer.name == "k8s"  # type: ignore[union-attr]
    removed = RUNNER.invoke(app, ["stack", "update", "cluster", "--no-deployer"])
    assert removed.exit_code == 0 and Client().get_stack("cluster").deployer is None


def test_the_kubernetes_flavor_writes_valid_manifests(
    trio_snapshot: SnapshotResponse, store: Store, project: Path
) -> None:
    from kube_api_server import validate_manifest

    client = Client()
    client.create_stack_component(
        "cluster",
        "kubernetes",
        StackComponentType.DEPLOYER,
        {"image": "registry.example.com/trio:1", "output_directory": str(project / "k8s")},
    )
    client.update_stack("served", component_updates={StackComponentType.DEPLOYER: "cluster"})
    deployment = deploy_snapshot("trio", "in-cluster").deployment
    assert deployment.status is DeploymentStatus.PROVISIONED
    assert "kubectl apply -f" in (deployment.status_reason or "")
    documents = list(yaml.safe_load_all((project / "k8s" / "in-cluster.yaml").read_text()))
    for document in documents:
        validate_manifest(document)
    assert [d["kind"] for d in documents] == ["Deployment", "Service"]


def test_the_docker_flavor_without_an_engine_says_so(
    trio_snapshot: SnapshotResponse, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_CONTAINER_ENGINE", "none")
    client = Client()
    client.create_stack_component(
        "containers", "docker", StackComponentType.DEPLOYER, {"image": "trio:1"}
    )
    client.update_stack("served", component_updates={StackComponentType.DEPLOYER: "containers"})
    with pytest.raises(DeploymentError, match="needs docker or podman.*turned off"):
        deploy_snapshot("trio", "boxed")


def test_a_token_of_the_configured_server_is_accepted(
    trio_snapshot: SnapshotResponse,
    store: Store,
    headrace_server: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = headrace_server
    monkeypatch.setenv("HEADRACE_DEPLOYMENT_SERVER_URL", server.url)  # type: ignore[attr-defined]
    deployed = deploy_snapshot("trio", "guarded", tracking=False)
    url = deployed.deployment.url
    token = server.token()  # type: ignore[attr-defined]
    answer = httpx.post(
        f"{url}/invoke",
        json={"parameters": {"x": 1}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"] == expected(1)
    forged = httpx.post(
        f"{url}/invoke", json={}, headers={"Authorization": f"Bearer {token[:-2]}xx"}
    )
    assert forged.status_code == 401
