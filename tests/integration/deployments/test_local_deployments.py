"""Local deployments: real service processes answering real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from deployment_project import expected

from headrace.deployments import (
    delete_deployment,
    deploy_snapshot,
    deployment_logs,
    deprovision_deployment,
    get_deployment,
    invoke_deployment,
    list_deployments,
)
from headrace.enums import DeploymentStatus, ExecutionStatus
from headrace.exceptions import DeploymentError, EntityNotFoundError
from headrace.models import PipelineRunFilter, SnapshotResponse
from headrace.store.base import Store
from headrace.store.run_liveness import process_alive

pytestmark = pytest.mark.slow


def _post(url: str, body: object, key: str | None = None, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/invoke", json=body, headers=headers, timeout=60.0, **kwargs)  # type: ignore[arg-type]


def test_a_tracked_deployment_answers_outputs_and_records_each_invocation_as_a_run(
    trio_snapshot: SnapshotResponse, store: Store, project: Path
) -> None:
    deployed = deploy_snapshot("trio", "scorer")
    deployment, key = deployed.deployment, deployed.key
    assert deployment.status is DeploymentStatus.RUNNING and key is not None
    assert key not in str(deployment.model_dump()), "only the key's hash is stored"
    url = deployment.url
    assert url is not None and url.startswith("http://127.0.0.1:")

    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    info = httpx.get(f"{url}/info", headers={"Authorization": f"Bearer {key}"}).json()
    assert info["snapshot_id"] == trio_snapshot.id and info["outputs"] == ["output"]
    assert set(info["parameters_schema"]["properties"]) == {"x", "delay", "label"}
    assert info["tracking"] is True and info["threads"] == 16
    openapi = httpx.get(f"{url}/openapi.json").json()
    body = openapi["paths"]["/invoke"]["post"]["requestBody"]["content"]["application/json"]
    assert "x" in body["schema"]["properties"]["parameters"]["properties"]
    assert httpx.get(f"{url}/docs").status_code == 200

    answer = _post(url, {"parameters": {"x": 4, "label": "four"}}, key)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["outputs"] == expected(4, "four")
    assert result["duration_ms"] > 0
    run = store.get_run(result["run_id"])
    assert run.status is ExecutionStatus.COMPLETED and run.snapshot_id == trio_snapshot.id
    assert [s.status for s in run.steps.values()] == [ExecutionStatus.COMPLETED] * 3
    assert store.get_run(result["run_id"]).output_ids, "the outputs are stored artifacts"

    # 100 requests at once: each is its own completed run, each answer its own.
    def call(x: int) -> tuple[int, dict[str, Any]]:
        answer = _post(url, {"parameters": {"x": x}}, key)
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(call, range(100, 200)))
    assert [status for status, _ in answers] == [200] * 100
    assert [body["outputs"] for _, body in answers] == [expected(x) for x in range(100, 200)]
    assert len({body["run_id"] for _, body in answers}) == 100
    assert store.get_run(answers[-1][1]["run_id"]).status is ExecutionStatus.COMPLETED

    # Same answer from Python; the on_init hook ran once in the service, not per call.
    assert invoke_deployment("scorer", {"x": 1}, key=key)["outputs"] == expected(1)
    assert (project / "init-calls.txt").read_text().splitlines() == ["init"]

    # A failing step: 500 naming the step's error and the failed run.
    failed = _post(url, {"parameters": {"x": 12}}, key)
    assert failed.status_code == 500
    assert "thirteen is refused" in failed.json()["detail"]
    assert store.get_run(failed.json()["run_id"]).status is ExecutionStatus.FAILED

    logs = "\n".join(deployment_logs("scorer"))
    assert "listens on" in logs and "thirteen is refused" in logs

    stopped = deprovision_deployment("scorer")
    assert stopped.status is DeploymentStatus.STOPPED
    assert not process_alive(deployment.handle["pid"], deployment.handle["started"])
    with pytest.raises(DeploymentError, match="stopped"):
        invoke_deployment("scorer", {"x": 1}, key=key)
    delete_deployment("scorer")
    with pytest.raises(EntityNotFoundError):
        get_deployment("scorer")


def test_bad_requests_are_refused_before_anything_runs(
    trio_snapshot: SnapshotResponse, store: Store
) -> None:
    deployed = deploy_snapshot("trio", "strict", max_request_bytes=2048)
    url, key = deployed.deployment.url, deployed.key
    assert url is not None and key is not None
    runs_before = store.list_runs(PipelineRunFilter(size=1)).total

    bad = _post(url, {"parameters": {"x": "many", "y": 2, "delay": [1]}}, key)
    assert bad.status_code == 422
    problems = bad.json()["problems"]
    assert len(problems) == 3, problems
    assert any("parameters.x" in p and "integer" in p for p in problems)
    assert any("parameters.y" in p and "unknown" in p for p in problems)
    assert any("parameters.delay" in p for p in problems)
    assert _post(url, {"params": {}}, key).status_code == 422
    assert _post(url, [1, 2], key).status_code == 422
    not_json = httpx.post(
        f"{url}/invoke", content=b"\x80\x04K\x01.", headers={"Authorization": f"Bearer {key}"}
    )
    assert not_json.status_code == 400, "a pickle is never read"
    too_big = _post(url, {"parameters": {"label": "x" * 4096}}, key)
    assert too_big.status_code == 413

    # Authentication: no key, a wrong key, another scheme.
    assert _post(url, {"parameters": {}}).status_code == 401
    assert _post(url, {"parameters": {}}, "hrd_wrong").status_code == 401
    basic = httpx.post(f"{url}/invoke", json={}, headers={"Authorization": f"Basic {key}"})
    assert basic.status_code == 401
    assert httpx.get(f"{url}/info").status_code == 401
    assert store.list_runs(PipelineRunFilter(size=1)).total == runs_before


def test_an_untracked_deployment_writes_nothing_and_serves_many_requests_at_once(
    trio_snapshot: SnapshotResponse, store: Store, project: Path
) -> None:
    deployed = deploy_snapshot("trio", "fast", tracking=False, auth=False)
    url = deployed.deployment.url
    assert url is not None and deployed.key is None
    runs_before = store.list_runs(PipelineRunFilter(size=1)).total
    artifacts = project / ".headrace" / "artifacts" / "runs"
    files_before = sorted(artifacts.rglob("*")) if artifacts.exists() else []

    def call(x: int) -> tuple[int, dict[str, object]]:
        answer = _post(url, {"parameters": {"x": x, "label": f"n{x}"}})
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(call, range(100, 200)))
    for x, (status, body) in zip(range(100, 200), answers, strict=True):
        assert status == 200, body
        assert body["outputs"] == expected(x, f"n{x}") and body["run_id"] is None

    failed = _post(url, {"parameters": {"x": 12}})
    assert failed.status_code == 500 and "thirteen" in failed.json()["detail"]
    assert store.list_runs(PipelineRunFilter(size=1)).total == runs_before
    assert (sorted(artifacts.rglob("*")) if artifacts.exists() else []) == files_before

    # A slow invocation does not hold /health up.
    slow = threading.Thread(target=_post, args=(url, {"parameters": {"delay": 3.0}}))
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert httpx.get(f"{url}/health", timeout=5.0).status_code == 200
    assert time.monotonic() - started < 1.0
    slow.join()


def test_a_killed_service_is_reported_failed(trio_snapshot: SnapshotResponse, store: Store) -> None:
    deployment = deploy_snapshot("trio", "fragile", auth=False).deployment
    os.kill(deployment.handle["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process_alive(deployment.handle["pid"], deployment.handle["started"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (listed,) = list_deployments()
    assert listed.status is DeploymentStatus.FAILED
    assert "gone" in (listed.status_reason or "")
    assert store.get_deployment("fragile").status is DeploymentStatus.FAILED
    with pytest.raises(DeploymentError, match="failed"):
        invoke_deployment("fragile", {"x": 1})


def test_a_service_that_cannot_start_says_why(
    trio_snapshot: SnapshotResponse, store: Store
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(DeploymentError, match="could not start"):
            deploy_snapshot("trio", "clash", port=port)
    record = store.get_deployment("clash")
    assert record.status is DeploymentStatus.FAILED
    assert "Address already in use" in (record.status_reason or "")


def test_the_same_name_cannot_be_deployed_twice(
    trio_snapshot: SnapshotResponse, store: Store
) -> None:
    deploy_snapshot("trio", "once", auth=False)
    with pytest.raises(DeploymentError, match="exists already"):
        deploy_snapshot("trio", "once", auth=False)


def test_a_stack_without_a_deployer_says_how_to_add_one(
    trio_snapshot: SnapshotResponse, store: Store
) -> None:
    from headrace.client import Client

    Client().activate_stack("default")
    with pytest.raises(DeploymentError, match="has no deployer.*deployer register"):
        deploy_snapshot("trio", "nowhere")
