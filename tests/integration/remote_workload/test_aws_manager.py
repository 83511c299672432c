"""The ``aws`` workload manager: the kubernetes manager against the fake API server
(``tests/kube_jobs_api.py``), with its S3 logs and ECR repositories on moto's server on
127.0.0.1 (``tests/s3_server.py``), reached through ``AWS_ENDPOINT_URL``. Nothing here
talks to AWS or a real cluster; IAM (who may write the bucket, push to ECR) is not
simulated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headrace import ExecutionStatus
from headrace.exceptions import ServerConfigurationError
from headrace.server.workload.aws import AWSWorkloadManager, logs_base
from headrace.server.workload.base import JobState
from headrace.server.workload.registry import load_workload_manager
from headrace.store.base import Store
from kube_jobs_api import FakeKubernetesJobs, fake_kubernetes_jobs
from workload_runs import RecordRun, wait_for

NAMESPACE = "headrace-runs"
KANIKO = "gcr.io/kaniko-project/executor:v1.23.2"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml"


@pytest.fixture
def fake_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubernetesJobs]:
    with fake_kubernetes_jobs(tmp_path_factory.mktemp("kube"), (NAMESPACE,)) as fake:
        yield fake


@pytest.fixture
def aws(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """S3 and ECR calls go to the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


def environment(fake: FakeKubernetesJobs, bucket: str, **more: str) -> dict[str, str]:
    return {
        "HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE": "aws",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE": NAMESPACE,
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT": "headrace-runner",
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_KUBECONFIG": str(fake.kubeconfig),
        "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS": "true",
        "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET": bucket,
        "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_REGION": "eu-west-1",
        **more,
    }


def test_logs_outlive_the_job_in_s3_and_ecr_repositories_are_made(
    aws: str,
    s3_bucket: str,
    fake_jobs: FakeKubernetesJobs,
    store: Store,
    record_run: RecordRun,
) -> None:
    import boto3

    fake_jobs.simulated_images[KANIKO] = 0
    manager = load_workload_manager(
        environment(
            fake_jobs,
            s3_bucket,
            HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE="true",
            HEADRACE_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY=REGISTRY,
        )
    )
    assert isinstance(manager, AWSWorkloadManager)
    run, job = record_run(name="aws")
    handle = manager.launch(job)
    ecr = boto3.client("ecr", region_name="eu-west-1")
    repositories = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert repositories == ["ml/headrace-runner"]
    state = wait_for(lambda: (s := manager.state(handle)).is_finished and s, 120, "the runner")
    assert state is JobState.SUCCEEDED
    assert store.get_run(run.id).status is ExecutionStatus.COMPLETED
    key = f"headrace/runner-logs/{handle}.log"
    s3 = boto3.client("s3", region_name="us-east-1")
    stored = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read().decode()
    assert "hello aws from the runner" in stored
    manager.stop(handle)  # the Job and its pod go (the shared builder stays); the logs stay
    assert not [name for _, name in fake_jobs.pods if name.startswith(handle)]
    assert manager.logs(handle) == stored
    # a second snapshot run reuses the repository (and the image)
    _, again = record_run()
    manager.launch(again)
    assert len(ecr.describe_repositories()["repositories"]) == 1


def test_a_stopped_runner_keeps_its_logs_until_then(
    aws: str,
    s3_bucket: str,
    fake_jobs: FakeKubernetesJobs,
    store: Store,
    record_run: RecordRun,
) -> None:
    manager = load_workload_manager(
        environment(
            fake_jobs,
            f"s3://{s3_bucket}/team-a/logs/",
            HEADRACE_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE="runner:1",
        )
    )
    run, job = record_run(name="stopped", seconds=120)
    handle = manager.launch(job)
    wait_for(lambda: store.get_run(run.id).steps.get("nap"), 120, "the napping step to start")
    manager.stop(handle, graceful=False)
    assert "hello stopped from the runner" in manager.logs(handle)
    import boto3

    keys = [
        o["Key"]
        for o in boto3.client("s3", region_name="us-east-1")
        .list_objects_v2(Bucket=s3_bucket)
        .get("Contents", [])
    ]
    assert keys == [f"team-a/logs/{handle}.log"]


def test_bucket_and_region_are_required_when_their_features_are_on() -> None:
    with pytest.raises(ServerConfigurationError) as info:
        AWSWorkloadManager.from_environment(
            {
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE": NAMESPACE,
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT": "runner",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS": "yes",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE": "yes",
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY": REGISTRY,
            }
        )
    message = str(info.value)
    assert "The aws workload manager is not configured correctly" in message
    assert "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET is required" in message
    assert "HEADRACE_AWS_KUBERNETES_WORKLOAD_MANAGER_REGION is required" in message


def test_a_bucket_name_or_any_fsspec_url() -> None:
    assert logs_base("my-bucket") == "s3://my-bucket/headrace/runner-logs"
    assert logs_base("gs://bucket/prefix/") == "gs://bucket/prefix"
