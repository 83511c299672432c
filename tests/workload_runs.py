"""Recorded runs of a small snapshot for the remote workload managers' tests (fixtures:

Each test gets a repository (SQLite store, local artifact store) with a project whose
snapshot ``remote`` greets and then naps as long as its ``seconds`` parameter says; the
run is recorded (status ``initializing``, as the queue hands it over) but not started,
so the manager under test is what launches its runner.
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headrace.execution.snapshot_runs import trigger_snapshot
from headrace.models import PipelineRunResponse
from headrace.server.workload.base import RunJob
from headrace.store.base import Store
from headrace.utils.env import ENV_STORE_URL

PROJECT = textwrap.dedent(
    """
    import time

    from headrace import pipeline, step


    @step(enable_cache=False)
    def greet(name: str = "world") -> str:
        print(f"hello {name} from the runner", flush=True)
        return f"hello {name}"


    @step(enable_cache=False)
    def nap(greeting: str, seconds: float = 0.0) -> str:
        time.sleep(seconds)
        return greeting


    @pipeline(enable_cache=False)
    def remote_pipeline():
        nap(greet())
    """
)


@pytest.fixture
def snapshot_project(repo: Path) -> Iterator[Any]:
    """The project's module, imported from the repository."""
    (repo / "remote_project.py").write_text(PROJECT)
    sys.path.insert(0, str(repo))
    sys.modules.pop("remote_project", None)
    import remote_project

    remote_project.remote_pipeline.create_snapshot(name="remote")
    yield remote_project
    sys.path.remove(str(repo))
    sys.modules.pop("remote_project", None)


RecordRun = Callable[..., tuple[PipelineRunResponse, RunJob]]


@pytest.fixture
def record_run(store: Store, snapshot_project: Any) -> RecordRun:
    """Record a run of snapshot ``remote`` (not started) and the job that starts it."""

    def record(
        name: str = "world", seconds: float = 0.0, timeout_s: float | None = None
    ) -> tuple[PipelineRunResponse, RunJob]:
        snapshot = store.get_snapshot("remote")
        configuration = {
            "steps": {
                "greet": {"parameters": {"name": name}},
                "nap": {"parameters": {"seconds": seconds}},
            }
        }
        run = trigger_snapshot(store, snapshot, configuration, launch=lambda *_: None)
        job = RunJob(
            run_id=run.id,
            snapshot_id=snapshot.id,
            command=("-m", "headrace.execution.snapshot_runs", run.id),
            environment={ENV_STORE_URL: store.url},
            timeout_s=timeout_s,
        )
        return run, job

    return record


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
