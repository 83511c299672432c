"""The ``kubernetes`` workload manager against the fake API server with Jobs
(``tests/kube_jobs_api.py``): the official client over HTTP, every Job validated against
the Kubernetes schema when created, its pods run as local processes. No real cluster
runs here; what a real one adds (scheduling, image pulls, kaniko's build) is not run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from headrace import ExecutionStatus
from headrace.exceptions import ServerConfigurationError, WorkloadManagerError
from headrace.server.workload import kubernetes_manifests as manifests
from headrace.server.workload.base import JobState
from headrace.server.workload.kubernetes import KubernetesWorkloadManager
from headrace.server.workload.registry import load_workload_manager
from headrace.store.base import Store
from kube_jobs_api import FakeKubernetesJobs, fake_kubernetes_jobs
from workload_runs import RecordRun, wait_for

NAMESPACE = "headrace-runs"
SNAPSHOT_IMAGE = "registry.example.com/project:snapshot"
# Pods evicted or preempted (not the runner's fault) do not count against the backoff limit.
POD_FAILURE_POLICY = (
    '{"rules": [{"action": "Ignore", '
    '"onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}'
)
KANIKO = "gcr.io/kaniko-project/executor:v1.23.2"


@pytest.fixture
def fake_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubernetesJobs]:
    with fake_kubernetes_jobs(tmp_path_factory.mktemp("kube"), (NAMESPACE,)) as fake:
        yield fake


def environment(fake: FakeKubernetesJobs, **more: str) -> dict[str, str]:
    return {
        "HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE": "kubernetes",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE": NAMESPACE,
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT": "headrace-runner",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_KUBECONFIG": str(fake.kubeconfig),
        **{f"HEADRACE_KUBERNETES_WORKLOAD_MANAGER_{k.upper()}": v for k, v in more.items()},
    }


def manager_for(environ: Mapping[str, str]) -> KubernetesWorkloadManager:
    manager = load_workload_manager(environ)
    assert isinstance(manager, KubernetesWorkloadManager)
    return manager


def finished(manager: KubernetesWorkloadManager, handle: str, timeout: float = 120) -> JobState:
    state: JobState = wait_for(
        lambda: (s := manager.state(handle)).is_finished and s, timeout, f"Job {handle} to end"
    )
    return state


def test_a_run_completes_in_the_snapshots_image(
    fake_jobs: FakeKubernetesJobs, store: Store, record_run: RecordRun
) -> None:
    manager = manager_for(environment(fake_jobs))
    run, job = record_run(name="kube")
    handle = manager.launch(dataclasses.replace(job, image=SNAPSHOT_IMAGE))
    assert handle == manifests.runner_job_name(run.id)
    assert finished(manager, handle) is JobState.SUCCEEDED, manager.logs(handle)
    final = store.get_run(run.id)
    assert final.status is ExecutionStatus.COMPLETED, final.status_reason
    assert final.steps["nap"].output.load() == "hello kube"
    assert "hello kube from the runner" in manager.logs(handle)
    (created,) = fake_jobs.created_jobs
    spec = created["spec"]
    assert spec["ttlSecondsAfterFinished"] == 2 * 24 * 3600 and spec["backoffLimit"] == 0
    assert not spec["suspend"] and "activeDeadlineSeconds" not in spec
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "headrace-runner" and pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == SNAPSHOT_IMAGE
    assert container["command"] == ["python", "-m", "headrace.execution.snapshot_runs", run.id]
    assert {e["name"]: e["value"] for e in container["env"]} == {"HEADRACE_STORE_URL": store.url}
    manager.close()


def test_every_setting_reaches_the_runner_job(
    fake_jobs: FakeKubernetesJobs, record_run: RecordRun
) -> None:
    manager = manager_for(
        environment(
            fake_jobs,
            runner_image="registry.example.com/headrace-runner:1",
            pod_resources=(
                '{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": 2147483648}}'
            ),
            ttl_seconds_after_finished="600",
            node_selector='{"pool": "runners"}',
            tolerations='[{"key": "runners", "operator": "Exists", "effect": "NoSchedule"}]',
            job_backoff_limit="2",
            pod_failure_policy=POD_FAILURE_POLICY,
        )
    )
    _, job = record_run()
    handle = manager.launch(dataclasses.replace(job, timeout_s=90.5))
    assert finished(manager, handle) is JobState.SUCCEEDED
    spec = fake_jobs.created_jobs[0]["spec"]
    assert spec["ttlSecondsAfterFinished"] == 600 and spec["backoffLimit"] == 2
    assert spec["activeDeadlineSeconds"] == 91
    assert spec["podFailurePolicy"]["rules"][0]["action"] == "Ignore"
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "runners"}
    assert pod["tolerations"] == [{"key": "runners", "operator": "Exists", "effect": "NoSchedule"}]
    container = pod["containers"][0]
    assert container["image"] == "registry.example.com/headrace-runner:1"
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "2147483648"},
    }


def test_a_runner_image_is_built_once_then_the_runner_resumes(
    fake_jobs: FakeKubernetesJobs, store: Store, record_run: RecordRun
) -> None:
    fake_jobs.simulated_images[KANIKO] = 0
    manager = manager_for(
        environment(
            fake_jobs, build_runner_image="true", docker_registry="registry.example.com/team"
        )
    )
    first, first_job = record_run(name="one")
    second, second_job = record_run(name="two")
    handles = [manager.launch(first_job), manager.launch(second_job)]
    builders = [
        j for j in fake_jobs.created_jobs if j["metadata"]["name"].startswith("headrace-build-")
    ]
    assert len(builders) == 1  # both runs share the snapshot's runner image
    builder = builders[0]
    image = builder["metadata"]["annotations"][manifests.IMAGE_ANNOTATION]
    assert image.startswith("registry.example.com/team/headrace-runner:")
    assert f"--destination={image}" in builder["spec"]["template"]["spec"]["containers"][0]["args"]
    dockerfile = builder["spec"]["template"]["spec"]["initContainers"][0]["env"][0]["value"]
    assert "pip install" in dockerfile and "headrace" in dockerfile
    runners = [j for j in fake_jobs.created_jobs if j["metadata"]["name"] in handles]
    assert all(r["spec"]["suspend"] for r in runners)  # until the image exists
    assert all(r["spec"]["template"]["spec"]["containers"][0]["image"] == image for r in runners)
    for handle in handles:
        assert finished(manager, handle) is JobState.SUCCEEDED, manager.logs(handle)
    assert [name for name, _ in fake_jobs.patches] == handles
    for run in (first, second):
        assert store.get_run(run.id).status is ExecutionStatus.COMPLETED


def test_a_failed_build_fails_the_run_with_the_builders_output(
    fake_jobs: FakeKubernetesJobs, record_run: RecordRun
) -> None:
    fake_jobs.simulated_images[KANIKO] = 1
    manager = manager_for(
        environment(fake_jobs, build_runner_image="1", docker_registry="registry.example.com/team")
    )
    _, job = record_run()
    handle = manager.launch(job)
    assert finished(manager, handle) is JobState.FAILED
    logs = manager.logs(handle)
    assert "building the runner image with Job headrace-build-" in logs
    assert f"simulated {KANIKO}: --context=dir:///workspace" in logs
    assert not fake_jobs.patches  # the runner never resumed


def test_stop_deletes_the_job_and_its_pod(
    fake_jobs: FakeKubernetesJobs, store: Store, record_run: RecordRun
) -> None:
    manager = manager_for(environment(fake_jobs, runner_image="runner:1"))
    run, job = record_run(seconds=120)
    handle = manager.launch(job)
    wait_for(lambda: store.get_run(run.id).steps.get("nap"), 120, "the napping step to start")
    assert manager.state(handle) is JobState.RUNNING
    manager.stop(handle, graceful=False)
    assert fake_jobs.job_deletions == [
        (handle, {"gracePeriodSeconds": 0, "propagationPolicy": "Background"})
    ]
    assert not fake_jobs.pods
    assert manager.state(handle) is JobState.UNKNOWN
    assert manager.logs(handle) == ""
    manager.stop(handle)  # already gone: nothing to do


def test_the_timeout_is_the_jobs_active_deadline(
    fake_jobs: FakeKubernetesJobs, record_run: RecordRun
) -> None:
    manager = manager_for(environment(fake_jobs, runner_image="runner:1"))
    _, job = record_run(seconds=120, timeout_s=1)
    handle = manager.launch(job)
    assert finished(manager, handle, 60) is JobState.FAILED


def test_without_an_image_the_launch_says_which_settings_give_one(
    fake_jobs: FakeKubernetesJobs, record_run: RecordRun
) -> None:
    manager = manager_for(environment(fake_jobs))
    _, job = record_run()
    with pytest.raises(WorkloadManagerError, match="RUNNER_IMAGE.*BUILD_RUNNER_IMAGE=true"):
        manager.launch(job)
    assert not fake_jobs.created_jobs


def test_a_namespace_the_cluster_lacks_is_refused_with_the_answer(
    fake_jobs: FakeKubernetesJobs, record_run: RecordRun
) -> None:
    environ = environment(fake_jobs, runner_image="runner:1")
    environ["HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE"] = "absent"
    manager = manager_for(environ)
    _, job = record_run()
    with pytest.raises(WorkloadManagerError, match="refused the runner Job.*404"):
        manager.launch(job)


def test_every_missing_or_malformed_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigurationError) as info:
        KubernetesWorkloadManager.from_environment(
            {
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE": "true",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES": "{cpu: 1}",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NODE_SELECTOR": "[]",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TOLERATIONS": '["x"]',
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TTL_SECONDS_AFTER_FINISHED": "two days",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_JOB_BACKOFF_LIMIT": "-1",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_FAILURE_POLICY": '{"rule": []}',
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS": "true",
            }
        )
    message = str(info.value)
    for expected in (
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE is required",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT is required",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY is required",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES is not valid JSON",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NODE_SELECTOR must be a JSON object",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TOLERATIONS must be a JSON list of toleration",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_TTL_SECONDS_AFTER_FINISHED='two days'",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_JOB_BACKOFF_LIMIT='-1'",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_POD_FAILURE_POLICY must be an object with a 'rules'",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS is only supported by the aws",
    ):
        assert expected in message
    missing = tmp_path / "missing-kubeconfig"
    with pytest.raises(ServerConfigurationError, match="cannot configure its Kubernetes client"):
        KubernetesWorkloadManager.from_environment(
            {
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE": NAMESPACE,
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT": "runner",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_KUBECONFIG": str(missing),
            }
        )
