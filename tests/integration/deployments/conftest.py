"""A project with a small pipeline, a stack with a local deployer, and clean-up of every
service a test started (by its process id, never by name)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deployment_project import PROJECT

from headrace.enums import StackComponentType
from headrace.models import SnapshotResponse
from headrace.store.base import Store


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The repository with ``trio.py``; the hook's marker file path in the environment."""
    (repo / "trio.py").write_text(PROJECT)
    monkeypatch.setenv("TRIO_INIT_MARKER", str(repo / "init-calls.txt"))
    monkeypatch.syspath_prepend(str(repo))
    sys.modules.pop("trio", None)
    yield repo
    sys.modules.pop("trio", None)


@pytest.fixture
def deployer_stack(project: Path, store: Store) -> Iterator[Store]:
    """The active stack has a local deployer (``threads`` 16); the service processes
    still running when the test ends are killed (by process id)."""
    from headrace.client import Client

    client = Client()
    client.create_stack_component("here", "local", StackComponentType.DEPLOYER, {"threads": 16})
    stack = client.create_stack(
        "served",
        {
            StackComponentType.ORCHESTRATOR: "default",
            StackComponentType.ARTIFACT_STORE: "default",
            StackComponentType.DEPLOYER: "here",
        },
    )
    client.activate_stack(stack.id)
    yield store
    _kill_services(store)


@pytest.fixture
def trio_snapshot(deployer_stack: Store) -> SnapshotResponse:
    """A named snapshot of ``trio``."""
    import trio  # type: ignore[import-not-found]

    snapshot: SnapshotResponse = trio.trio.create_snapshot(name="trio")
    return snapshot


def _kill_services(store: Store) -> None:
    from headrace.models import DeploymentFilter
    from headrace.store.run_liveness import process_alive

    for deployment in store.list_deployments(DeploymentFilter(size=1000)).items:
        pid = deployment.handle.get("pid")
        if pid and process_alive(int(pid), deployment.handle.get("started")):
            os.kill(int(pid), signal.SIGKILL)
