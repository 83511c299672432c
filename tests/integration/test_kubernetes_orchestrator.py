"""The Kubernetes orchestrator end to end against the fake API server (``kube_api_server``):
the official client over HTTP, manifests validated on creation, pods run as processes.

Runs go client -> driver pod -> step pods (the default), client -> step pods
(``driver_pod: false``) or client -> driver pod running every step
(``run_steps_in_driver``); each of those is a real process here.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.exceptions import RunFailedError
from headrace.execution.orchestrators.kubernetes import manifests
from kube_api_server import FakeKubernetes
from kube_stack import STEP_IMAGE

FROM_CLIENT = {"orchestrator.kubernetes": {"driver_pod": False}}
IN_DRIVER = {"orchestrator.kubernetes": {"run_steps_in_driver": True}}


def _drivers(fake: FakeKubernetes) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.created
        if m["metadata"]["labels"].get(manifests.ROLE_LABEL) == manifests.DRIVER_ROLE
    ]


def _steps(fake: FakeKubernetes) -> dict[str, dict[str, Any]]:
    return {
        m["metadata"]["annotations"][manifests.INVOCATION_ANNOTATION]: m
        for m in fake.created
        if manifests.INVOCATION_ANNOTATION in m["metadata"].get("annotations", {})
    }


def _until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@step(enable_cache=False)
def make(value: int) -> int:
    return value + 1


@step(enable_cache=False, settings={"resources": {"cpu_count": 2, "memory": "1GB"}})
def twice(value: int) -> int:
    return value * 2


@pytest.mark.parametrize("driver_pod", [True, False], ids=["driver-pod", "from-client"])
def test_each_step_runs_in_its_own_pod(
    repo: Path, kubernetes_stack: FakeKubernetes, driver_pod: bool
) -> None:
    step_settings = {"orchestrator.kubernetes": {"pod_settings": {"labels": {"stage": "two"}}}}
    settings = {
        "resources": {"memory": "256MiB"},
        "orchestrator.kubernetes": {
            "driver_pod": driver_pod,
            "service_account_name": "driver-account",
            "step_pod_service_account_name": "step-account",
            "orchestrator_pod_settings": {"labels": {"part": "driver"}},
        },
    }

    @pipeline(enable_cache=False, settings=settings)
    def two_pods() -> None:
        twice.with_options(settings=step_settings)(make(1))

    run = two_pods()
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert run.steps["twice"].output.load() == 4
    created = _steps(kubernetes_stack)
    assert set(created) == {"make", "twice"}
    drivers = _drivers(kubernetes_stack)
    if driver_pod:  # client -> driver pod -> step pods, each owned by the driver pod
        assert len(drivers) == 1 and len(kubernetes_stack.created) == 3
        driver = drivers[0]
        assert driver["spec"]["serviceAccountName"] == "driver-account"
        assert driver["metadata"]["labels"]["part"] == "driver"
        assert driver["spec"]["containers"][0]["command"][:5] == [
            "python",
            "-m",
            manifests.DRIVER_MODULE,
            "--run-id",
            run.id,
        ]
        for pod in created.values():
            assert pod["metadata"]["ownerReferences"][0]["uid"] == driver["metadata"]["uid"]
            assert pod["spec"]["serviceAccountName"] == "step-account"
        # the run was claimed by the driver pod's process, not by this one
        assert Client().get_pipeline_run(run.id).driver_pid != os.getpid()
    else:
        assert not drivers
        assert all("ownerReferences" not in m["metadata"] for m in created.values())
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
    # finished step pods are removed; the steps' logs live in the artifact store
    assert sorted(kubernetes_stack.deleted) == sorted(
        m["metadata"]["name"] for m in created.values()
    )
    assert [key[1] for key in kubernetes_stack.pods] == [m["metadata"]["name"] for m in drivers]


def test_a_pod_that_never_starts_fails_its_step(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    settings = {
        "orchestrator.kubernetes": {
            "driver_pod": False,
            "image": "missing/steps:1",
            "pod_startup_timeout_s": 1,
        }
    }

    @pipeline(enable_cache=False, settings=settings)
    def unpullable() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="did not start within .*ErrImagePull") as info:
        unpullable()
    run = info.value.run  # type: ignore[attr-defined]
    assert run.steps["make"].status is ExecutionStatus.FAILED
    assert not kubernetes_stack.pods  # the stuck pod was deleted


def test_a_driver_pod_that_never_starts_fails_the_run(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    settings = {"orchestrator.kubernetes": {"image": "missing/steps:1", "pod_startup_timeout_s": 1}}

    @pipeline(enable_cache=False, settings=settings)
    def unpullable() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="driver pod .* did not start within .*ErrImagePull"):
        unpullable()
    run = Client().list_pipeline_runs()[0]
    assert run.status is ExecutionStatus.FAILED and not run.steps
    assert not kubernetes_stack.pods  # the stuck driver pod was deleted


@pytest.mark.parametrize(
    ("settings", "what"),
    [({}, "Cannot create the driver pod"), ({"driver_pod": False}, "Cannot create the pod")],
    ids=["driver-pod", "from-client"],
)
def test_a_pod_the_api_refuses_fails_with_the_answer(
    repo: Path, kubernetes_stack: FakeKubernetes, settings: dict[str, Any], what: str
) -> None:
    settings = {"orchestrator.kubernetes": {**settings, "kubernetes_namespace": "absent"}}

    @pipeline(enable_cache=False, settings=settings)
    def nowhere() -> None:
        make(1)

    with pytest.raises(RunFailedError, match=f'{what}.*404.*namespaces \\\\"absent\\\\" not found'):
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


@step(enable_cache=False)
def whose_process() -> int:
    return os.getpid()


def test_all_steps_run_in_the_driver_pod(repo: Path, kubernetes_stack: FakeKubernetes) -> None:
    settings = {**IN_DRIVER, "resources": {"cpu_count": 2, "memory": "2GiB"}}

    @pipeline(enable_cache=False, settings=settings)
    def in_driver() -> None:
        whose_process(id="first")
        twice(make(1))
        whose_process(id="second")

    run = in_driver()
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert run.steps["twice"].output.load() == 4
    (driver,) = kubernetes_stack.created  # one pod: the driver, which ran every step
    assert driver["metadata"]["labels"][manifests.ROLE_LABEL] == manifests.DRIVER_ROLE
    # the pipeline's resources are the driver pod's: its steps run there
    assert driver["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "2Gi"},
        "limits": {"memory": "2Gi"},
    }
    pids = {run.steps[name].output.load() for name in ("first", "second")}
    assert len(pids) == 1 and os.getpid() not in pids
    assert Client().get_pipeline_run(run.id).driver_pid in pids


@step(enable_cache=False)
def sleeper(seconds: float) -> float:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
    return seconds


@step(enable_cache=False)
def kills_its_process() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def test_a_driver_pod_that_dies_ends_its_run(repo: Path, kubernetes_stack: FakeKubernetes) -> None:
    @pipeline(enable_cache=False, settings=IN_DRIVER)
    def dies() -> None:
        kills_its_process()

    with pytest.raises(RunFailedError, match="driver") as info:
        dies()
    run = info.value.run  # type: ignore[attr-defined]
    assert run.status is ExecutionStatus.FAILED
    assert "driver" in (run.status_reason or "")
    assert {s.status for s in run.steps.values()} <= {ExecutionStatus.FAILED}


def test_a_killed_driver_pod_ends_its_run_for_every_reader(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    """The launching process does not wait: the run lifecycle (driver gone: its process,
    or its heartbeat) ends the run when it is read."""

    @pipeline(enable_cache=False, settings={"orchestrator.kubernetes": {"synchronous": False}})
    def long_run() -> None:
        sleeper(30.0)

    run = long_run()
    client = Client()
    _until(lambda: "sleeper" in client.get_pipeline_run(run.id).steps, "the step to start")
    (driver,) = _drivers(kubernetes_stack)
    pod = kubernetes_stack.pods[("default", driver["metadata"]["name"])]
    assert pod.process is not None
    os.killpg(pod.process.pid, signal.SIGKILL)  # the node went away
    pod.process.wait()
    ended = client.get_pipeline_run(run.id)
    assert ended.status is ExecutionStatus.FAILED
    assert "its driver process" in (ended.status_reason or "")
    # deleting the dead driver pod removes its step pods (they are owned by it)
    kubernetes_stack.delete("default", driver["metadata"]["name"])
    assert not kubernetes_stack.pods


@pytest.mark.parametrize("settings", [{}, IN_DRIVER], ids=["step-pods", "steps-in-driver"])
def test_stop_reaches_the_driver_pod_and_its_step_pods(
    repo: Path, kubernetes_stack: FakeKubernetes, settings: dict[str, Any]
) -> None:
    background = {"orchestrator.kubernetes": {**settings.get("orchestrator.kubernetes", {})}}
    background["orchestrator.kubernetes"]["synchronous"] = False

    @pipeline(enable_cache=False, settings=background)
    def stoppable() -> None:
        sleeper(60.0, after=make(1))

    run = stoppable()
    client = Client()

    def sleeping() -> bool:
        steps = client.get_pipeline_run(run.id).steps
        return "sleeper" in steps and steps["sleeper"].status is ExecutionStatus.RUNNING

    _until(sleeping, "the long step to run")
    client.stop_pipeline_run(run.id)
    stopped = client.get_pipeline_run(run.id).wait(timeout=60)
    assert stopped.status is ExecutionStatus.STOPPED
    assert stopped.steps["sleeper"].status is ExecutionStatus.STOPPED
    (driver,) = _drivers(kubernetes_stack)
    pod = kubernetes_stack.pods[("default", driver["metadata"]["name"])]
    assert pod.process is not None
    assert pod.process.wait(timeout=30) == 1  # the driver ended, reporting the stop
    assert list(kubernetes_stack.pods) == [("default", driver["metadata"]["name"])]
    if not settings:  # the running step pod was deleted by the driver
        assert _steps(kubernetes_stack)["sleeper"]["metadata"]["name"] in kubernetes_stack.deleted


PROJECT = textwrap.dedent(
    """
    from headrace import pipeline, step


    @step(enable_cache=False)
    def numbers(n: int = 3) -> list:
        return list(range(n))


    @step(enable_cache=False)
    def total(values: list) -> int:
        return sum(values)


    @pipeline
    def summing():
        total(numbers())
    """
)


def test_a_snapshot_run_goes_through_a_driver_pod(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    (repo / "k8s_project.py").write_text(PROJECT)
    sys.path.insert(0, str(repo))
    try:
        import k8s_project

        snapshot = k8s_project.summing.create_snapshot(name="on-k8s")
        client = Client()
        run = client.trigger_pipeline(
            snapshot_name_or_id=snapshot.id,
            run_configuration={"steps": {"numbers": {"parameters": {"n": 5}}}},
        )
        finished = client.get_pipeline_run(run.id).wait(timeout=180)
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("k8s_project", None)
    assert finished.status is ExecutionStatus.COMPLETED, finished.status_reason
    assert finished.steps["total"].output.load() == 10
    assert len(_drivers(kubernetes_stack)) == 1
    assert set(_steps(kubernetes_stack)) == {"numbers", "total"}


def test_a_dynamic_pipeline_a_driver_pod_cannot_import_is_refused(
    repo: Path, kubernetes_stack: FakeKubernetes
) -> None:
    @pipeline(enable_cache=False, dynamic=True)
    def local_dynamic() -> None:
        make(1)

    with pytest.raises(RunFailedError, match="define it at module level.*driver_pod"):
        local_dynamic()
    assert not kubernetes_stack.created
