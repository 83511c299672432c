"""The ``ray`` workload manager against the real two-node Ray cluster of the tests
(``tests/ray_cluster.py``), through its dashboard's Job Submission API."""

from __future__ import annotations

import sys

import pytest

from headrace import ExecutionStatus
from headrace.exceptions import ServerConfigurationError, WorkloadManagerError
from headrace.server.workload.base import JobState
from headrace.server.workload.ray import RayWorkloadManager, submission_id
from headrace.server.workload.registry import load_workload_manager
from headrace.store.base import Store
from ray_cluster import RAY_GROUP
from workload_runs import RecordRun, wait_for

pytestmark = [RAY_GROUP]


@pytest.fixture
def manager(ray_dashboard: str) -> RayWorkloadManager:
    built = load_workload_manager(
        {
            "HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE": "ray",
            "HEADRACE_RAY_ADDRESS": ray_dashboard,
            # the cluster's nodes run this interpreter (no virtualenv on their PATH)
            "HEADRACE_RAY_WORKLOAD_MANAGER_PYTHON": sys.executable,
        }
    )
    assert isinstance(built, RayWorkloadManager)
    return built


def test_a_snapshot_run_completes_as_a_ray_job(
    manager: RayWorkloadManager, store: Store, record_run: RecordRun
) -> None:
    run, job = record_run(name="ray")
    handle = manager.launch(job)
    assert handle == submission_id(run.id)
    state = wait_for(
        lambda: (s := manager.state(handle)).is_finished and s, 180, "the Ray job to end"
    )
    logs = manager.logs(handle)
    assert state is JobState.SUCCEEDED, logs
    final = store.get_run(run.id)
    assert final.status is ExecutionStatus.COMPLETED, final.status_reason
    assert final.steps["nap"].output.load() == "hello ray"
    assert "hello ray from the runner" in logs  # the runner's output, fetched from Ray


def test_stop_ends_the_runner_and_the_run_is_stopped(
    manager: RayWorkloadManager, store: Store, record_run: RecordRun
) -> None:
    run, job = record_run(seconds=120)
    handle = manager.launch(job)
    wait_for(lambda: store.get_run(run.id).steps.get("nap"), 180, "the napping step to start")
    manager.stop(handle)
    state = wait_for(
        lambda: (s := manager.state(handle)).is_finished and s, 60, "the Ray job to stop"
    )
    assert state is JobState.FAILED
    final = wait_for(
        lambda: (r := store.get_run(run.id)).status.is_finished and r, 60, "the run to end"
    )
    assert final.status is ExecutionStatus.STOPPED, final.status_reason


def test_a_runner_over_its_timeout_is_stopped(
    manager: RayWorkloadManager, store: Store, record_run: RecordRun
) -> None:
    run, job = record_run(seconds=120, timeout_s=1)
    handle = manager.launch(job)
    wait_for(lambda: store.get_run(run.id).steps.get("nap"), 180, "the napping step to start")
    state = wait_for(
        lambda: (s := manager.state(handle)).is_finished and s, 60, "the timeout to stop it"
    )
    assert state is JobState.FAILED


def test_unknown_handles_and_a_launch_twice(
    manager: RayWorkloadManager, record_run: RecordRun
) -> None:
    assert manager.state("headrace-no-such-run") is JobState.UNKNOWN
    assert manager.logs("headrace-no-such-run") == ""
    manager.stop("headrace-no-such-run")  # nothing to stop: no error
    _, job = record_run(seconds=60)
    handle = manager.launch(job)
    with pytest.raises(WorkloadManagerError, match=f"refused the runner of run {job.run_id}"):
        manager.launch(job)  # one runner per run: Ray refuses the same submission id
    manager.stop(handle)


def test_settings_are_checked_all_at_once() -> None:
    with pytest.raises(ServerConfigurationError) as info:
        RayWorkloadManager.from_environment(
            {
                "HEADRACE_RAY_WORKLOAD_MANAGER_RUNTIME_ENV": "[1, 2]",
                "HEADRACE_RAY_WORKLOAD_MANAGER_ENTRYPOINT_NUM_CPUS": "many",
            }
        )
    message = str(info.value)
    assert "HEADRACE_RAY_ADDRESS is required" in message
    assert "HEADRACE_RAY_WORKLOAD_MANAGER_RUNTIME_ENV must be a JSON object" in message
    assert "HEADRACE_RAY_WORKLOAD_MANAGER_ENTRYPOINT_NUM_CPUS='many'" in message
    with pytest.raises(ServerConfigurationError, match="not the dashboard's http://host:port"):
        RayWorkloadManager.from_environment({"HEADRACE_RAY_ADDRESS": "127.0.0.1:6379"})
