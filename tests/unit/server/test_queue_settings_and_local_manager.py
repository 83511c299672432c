"""The run queue's settings from the environment, the local workload manager against real
subprocesses, and the SQL queue's counting against a real SQLite file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from headrace.exceptions import QueueFullError, ServerConfigurationError, WorkloadManagerError
from headrace.server.settings import (
    DEFAULT_MAX_CONCURRENT_RUNS,
    DEFAULT_MAX_QUEUED_RUNS,
    queue_limits,
)
from headrace.server.workload.base import JobState, RunJob
from headrace.server.workload.local import LocalWorkloadManager, parse_handle
from headrace.server.workload.registry import load_workload_manager


def test_defaults_and_the_alias() -> None:
    limits = queue_limits({})
    assert (limits.max_concurrent_runs, limits.max_queued_runs) == (
        DEFAULT_MAX_CONCURRENT_RUNS,
        DEFAULT_MAX_QUEUED_RUNS,
    )
    alias = queue_limits({"HEADRACE_SERVER_MAX_CONCURRENT_SNAPSHOT_RUNS": "5"})
    assert alias.max_concurrent_runs == 5
    explicit = queue_limits(
        {"HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS": "5"}, max_concurrent_runs=1
    )
    assert explicit.max_concurrent_runs == 1  # the command line wins


def test_every_malformed_variable_is_named_at_once() -> None:
    with pytest.raises(ServerConfigurationError) as caught:
        queue_limits(
            {
                "HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS": "1.5",
                "HEADRACE_SERVER_MAX_QUEUED_RUNS": "0",
                "HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS": "-1",
            }
        )
    message = str(caught.value)
    for name in (
        "HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS",
        "HEADRACE_SERVER_MAX_QUEUED_RUNS",
        "HEADRACE_SERVER_WORKLOAD_MANAGER_TIMEOUT_SECONDS",
    ):
        assert name in message


def test_the_alias_may_not_disagree() -> None:
    with pytest.raises(ServerConfigurationError, match="disagree"):
        queue_limits(
            {
                "HEADRACE_SERVER_MAX_CONCURRENT_TEMPLATE_RUNS": "2",
                "HEADRACE_SERVER_MAX_CONCURRENT_SNAPSHOT_RUNS": "3",
            }
        )


def _manager(tmp_path: Path) -> LocalWorkloadManager:
    manager = load_workload_manager({"HEADRACE_SERVER_RUNNER_LOGS_DIRECTORY": str(tmp_path)})
    assert isinstance(manager, LocalWorkloadManager)
    return manager


def _wait(manager: LocalWorkloadManager, handle: str) -> JobState:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = manager.state(handle)
        if state.is_finished:
            return state
        time.sleep(0.05)
    raise AssertionError("the job never finished")


def test_local_manager_runs_reports_and_keeps_output(tmp_path: Path) -> None:
    manager = _manager(tmp_path)
    ok = manager.launch(RunJob("r1", "s1", ("-c", "print('hello from the runner')")))
    pid, started = parse_handle(ok)
    assert pid > 0 and started
    assert _wait(manager, ok) is JobState.SUCCEEDED
    assert "hello from the runner" in manager.logs(ok)
    # Its output from a byte offset, for the copy other servers read while it runs.
    assert manager.local_output(ok, 6, 4) == b"from"
    assert manager.local_output("pid:1:never-launched", 0, 10) == b""
    bad = manager.launch(RunJob("r2", "s1", ("-c", "import sys; sys.exit(3)")))
    assert _wait(manager, bad) is JobState.FAILED
    assert manager.state(bad) is JobState.UNKNOWN  # gone and reaped: nothing to find
    manager.close()  # ends the warm runner waiting for the next run
    assert not list(tmp_path.glob("warm-*.log"))


def test_local_manager_timeout_and_stop(tmp_path: Path) -> None:
    manager = _manager(tmp_path)
    slow = manager.launch(RunJob("r1", "s1", ("-c", "import time; time.sleep(60)"), timeout_s=0.5))
    assert _wait(manager, slow) is JobState.FAILED
    assert "timeout of 0.5 s" in manager.logs(slow)
    stopped = manager.launch(RunJob("r2", "s1", ("-c", "import time; time.sleep(60)")))
    assert manager.state(stopped) is JobState.RUNNING
    manager.stop(stopped, graceful=False)
    assert _wait(manager, stopped) is JobState.FAILED
    manager.close()


def test_a_foreign_handle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkloadManagerError, match="pid:<pid>"):
        _manager(tmp_path).state("ray:raysubmit_123")


def test_a_runner_of_another_process_is_found_by_its_handle(tmp_path: Path) -> None:
    import subprocess

    from headrace.store.run_liveness import process_started

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        handle = f"pid:{process.pid}:{process_started(process.pid)}"
        manager = _manager(tmp_path)  # a "restarted server": it did not launch it
        assert manager.state(handle) is JobState.RUNNING
        assert manager.state(f"pid:{process.pid}:1") is JobState.UNKNOWN  # a reused pid
    finally:
        process.kill()
        process.wait()
    assert _manager(tmp_path).state(handle) is JobState.UNKNOWN


def test_the_sql_queue_counts_and_refuses_beyond_its_limit(tmp_path: Path) -> None:
    import uuid

    from headrace.enums import ExecutionStatus
    from headrace.models import PipelineRunFilter, PipelineRunRequest
    from headrace.store.sql.store import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'q.db'}", default_artifact_path=str(tmp_path))
    stack = store.get_default_stack()

    def request(name: str) -> PipelineRunRequest:
        return PipelineRunRequest(
            id=str(uuid.uuid4()), name=name, pipeline_id=None, snapshot_id=None, stack_id=stack.id
        )

    try:
        runs = [
            store.enqueue_run(request(f"r{i}"), source="rest", schedule_id=None, max_queued=3)
            for i in range(3)
        ]
        assert {r.status for r in runs} == {ExecutionStatus.QUEUED}
        with pytest.raises(QueueFullError):
            store.enqueue_run(request("r3"), source="rest", schedule_id=None, max_queued=3)
        # The refused one left nothing behind.
        assert store.list_runs(PipelineRunFilter(size=100)).total == 3
        claimed = store.claim_queued_runs("server-1", 2)
        assert [e.run_id for e in claimed] == [runs[0].id, runs[1].id]  # FIFO
        assert store.claim_queued_runs("server-2", 2) == []  # the limit holds
        assert store.queue_counts() == (1, 2)
        assert store.get_run(runs[0].id).status is ExecutionStatus.INITIALIZING
        stopped = store.stop_run(runs[2].id)
        assert stopped.status is ExecutionStatus.STOPPED
        assert store.queue_counts() == (0, 2)
        store.end_run_if_unended(runs[0].id, ExecutionStatus.FAILED, "test")
        store.release_run(runs[0].id, "output")
        assert store.get_runner_logs(runs[0].id) == "output"
        assert store.queue_counts() == (0, 1)

        # Live output: chunks by offset (a repeated offset is kept once), in order.
        store.append_runner_output(runs[1].id, 6, "second\n")
        store.append_runner_output(runs[1].id, 0, "first\n")
        store.append_runner_output(runs[1].id, 0, "again\n")
        assert store.live_runner_output(runs[1].id) == "first\nsecond\n"
        assert store.get_runner_logs(runs[1].id) == ""  # kept only at release
        # A server that cannot read the runner's output releases it: the chunks are kept.
        store.end_run_if_unended(runs[1].id, ExecutionStatus.FAILED, "test")
        store.release_run(runs[1].id, None)
        assert store.get_runner_logs(runs[1].id) == "first\nsecond\n"
        assert store.live_runner_output(runs[1].id) == ""
    finally:
        store.close()


def test_a_snapshot_image_record_gives_its_tag_only_when_an_image_exists() -> None:
    from headrace.server.dispatcher import image_tag

    record = {"tag": "registry.local/p:abc", "context_digest": "d", "dockerfile": "FROM x"}
    assert image_tag({**record, "built": True}) == "registry.local/p:abc"
    assert image_tag({**record, "reused": True}) == "registry.local/p:abc"
    assert image_tag(record) is None  # a context that was never built
    assert image_tag(None) is None
    assert image_tag("plain:tag") == "plain:tag"
