"""Seeded fault injection on a real Ray cluster (``tests/ray_cluster.py``).

The same chain and fan-out pipelines as the local suite (``fault_kit.py``) run on the
two-node cluster from a driver process, as a user's script would. Two kinds of fault:

- the driver is killed with SIGKILL a seeded number of steps into the run; Ray then
  ends the dead job's worker processes;
- a Ray worker process is killed with SIGKILL while it runs a step.

After every fault: the SQLite database passes ``pragma integrity_check``, every run has
ended with the right status (a killed driver: ``failed``, found by its pid; a killed
worker: its step ``failed`` naming the worker's end, later steps skipped, the run
``failed``), every completed output loads with its value, nothing the artifact store
holds is unaccounted for (recorded or found by ``headrace clean``), and a rerun (cached)
or ``headrace pipeline runs resume`` completes with the right result, reusing the
completed steps.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_kit import (
    DRIVER,
    MIN_PAUSE_S,
    arguments_for,
    check_leftovers,
    check_outputs,
    expected,
    integrity,
    load_output,
    pipelines,
    started_pids,
)

from headrace import ExecutionStatus
from headrace.client import Client
from headrace.models import PipelineRunResponse
from ray_cluster import RAY_GROUP, driver_environment

pytestmark = [
    RAY_GROUP,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is a POSIX signal"),
]

DRIVER_FAULTS = 4
WORKER_FAULTS = 2
SEED = 20261203
WORKER_STEP_S = 2.0  # a step long enough for the test to kill its worker mid-step
RUN_TIMEOUT_S = 180.0


class RayProject:
    """A repository whose stack runs on the cluster, with the fault pipelines and their
    driver; drivers and CLI commands run as processes in it."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.progress = repo / "progress"
        self.errors = repo / "driver.err"
        (repo / "fault_pipelines.py").write_text(pipelines(str(self.progress)))
        (repo / "drive.py").write_text(DRIVER)
        environment = driver_environment()
        environment["PYTHONPATH"] = os.pathsep.join([str(repo), environment["PYTHONPATH"]])
        self.environment = environment

    def start(self, shape: str, arguments: dict[str, object]) -> subprocess.Popen[bytes]:
        self.progress.unlink(missing_ok=True)
        with open(self.errors, "wb") as errors:  # a file: a pipe nobody reads would fill
            return subprocess.Popen(
                [sys.executable, "drive.py", shape, "threads", json.dumps(arguments)],
                cwd=self.repo,
                env=self.environment,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )

    def wait_for_steps(self, driver: subprocess.Popen[bytes], count: int) -> list[int]:
        """Wait until ``count`` steps started (or the driver ended); their pids."""
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while driver.poll() is None and len(started_pids(self.progress)) < count:
            assert time.monotonic() < deadline, "the run never reached its step"
            time.sleep(0.005)
        return started_pids(self.progress)

    def headrace(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "headrace.cli.main", *arguments]
        return subprocess.run(
            command,
            cwd=self.repo,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )

    def rerun(self, shape: str, arguments: dict[str, object]) -> None:
        driver = self.start(shape, arguments)
        assert driver.wait(timeout=RUN_TIMEOUT_S) == 0, self.errors.read_text()


def _wait_until_gone(pids: list[int], timeout: float = 60.0) -> None:
    """Ray ends a dead driver's workers; wait for that, so no step writes meanwhile."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid):
            assert time.monotonic() < deadline, f"Ray worker {pid} outlived its dead driver"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _latest_run() -> PipelineRunResponse:
    return Client().list_pipeline_runs(size=1, sort_by="desc:created").items[0]


def test_killing_the_driver_of_ray_runs_loses_nothing(
    repo: Path, ray_orchestrator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "5")
    project = RayProject(repo)
    database = repo / ".headrace" / "headrace.db"
    artifacts = repo / ".headrace" / "artifacts"
    rng = random.Random(SEED)
    injected = checked = cleaned = cached = 0
    seen: set[str] = set()
    started = time.monotonic()
    for _ in range(DRIVER_FAULTS):
        shape = rng.choice(["chain", "fan"])
        arguments = arguments_for(rng, shape)
        steps = len(arguments["pauses"])  # type: ignore[arg-type]
        kill_after = rng.randrange(1, steps + 1)
        driver = project.start(shape, arguments)
        try:
            project.wait_for_steps(driver, kill_after)
            time.sleep(rng.uniform(0.0, MIN_PAUSE_S / 2))
            if driver.poll() is None:  # else it finished first: nothing to inject
                driver.send_signal(signal.SIGKILL)
                injected += 1
        finally:
            driver.kill()
            driver.wait()
        _wait_until_gone(started_pids(project.progress))
        assert integrity(database) == "ok"
        killed = _latest_run()
        assert killed.status in (ExecutionStatus.FAILED, ExecutionStatus.COMPLETED)
        if killed.status is ExecutionStatus.FAILED:
            reason = killed.status_reason or ""
            assert "driver process" in reason, reason
        checked += check_outputs(seen)
        cleaned += check_leftovers(artifacts)
        project.rerun(shape, arguments)
        rerun = _latest_run()
        seen.add(rerun.id)
        assert rerun.status is ExecutionStatus.COMPLETED
        assert load_output(rerun) == expected(shape, arguments)
        cached += sum(s.status is ExecutionStatus.CACHED for s in rerun.steps.values())
    assert injected >= DRIVER_FAULTS // 2, f"only {injected} kills landed while a run went on"
    assert cached > 0, "no cached rerun reused a step the killed runs completed"
    print(
        f"Ray: {injected} driver SIGKILLs in {DRIVER_FAULTS} runs, {checked} completed "
        f"outputs verified, {cleaned} leftovers cleaned, {cached} steps reused, "
        f"in {time.monotonic() - started:.1f} s"
    )


def test_killing_a_ray_worker_mid_step_fails_that_step_and_resume_completes(
    repo: Path, ray_orchestrator: str
) -> None:
    project = RayProject(repo)
    database = repo / ".headrace" / "headrace.db"
    artifacts = repo / ".headrace" / "artifacts"
    rng = random.Random(SEED + 1)
    seen: set[str] = set()
    checked = reused = 0
    started = time.monotonic()
    for _ in range(WORKER_FAULTS):
        size = rng.randrange(2, 5)
        arguments: dict[str, object] = {
            "start": rng.randrange(100),
            "ks": [rng.randrange(1, 50) for _ in range(size)],
            "pauses": [WORKER_STEP_S] * size,
        }
        victim = rng.randrange(size)  # the step whose worker is killed
        driver = project.start("chain", arguments)
        try:
            pids = project.wait_for_steps(driver, victim + 1)
            assert driver.poll() is None, project.errors.read_text()
            time.sleep(rng.uniform(0.0, WORKER_STEP_S / 3))
            os.kill(pids[victim], signal.SIGKILL)  # a Ray worker process, mid-step
            driver.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        assert driver.returncode != 0, "the run should have failed"
        assert "RunFailedError" in project.errors.read_text()
        assert integrity(database) == "ok"
        run = _latest_run()
        assert run.status is ExecutionStatus.FAILED, run.status_reason
        steps = run.steps
        killed = steps[f"add_{victim}"]
        assert killed.status is ExecutionStatus.FAILED
        assert killed.error is not None
        assert "Ray worker ended unexpectedly" in killed.error.message, killed.error
        assert not killed.outputs  # nothing half-written is recorded
        for index in range(size):
            if index < victim:
                assert steps[f"add_{index}"].status is ExecutionStatus.COMPLETED
            elif index > victim:
                assert steps[f"add_{index}"].status is ExecutionStatus.SKIPPED
        checked += check_outputs(seen)
        check_leftovers(artifacts)
        result = project.headrace("pipeline", "runs", "resume", run.name)
        assert result.returncode == 0, result.stdout + result.stderr
        resumed = _latest_run()
        seen.add(resumed.id)
        assert resumed.resumed_from_run_id == run.id
        assert resumed.status is ExecutionStatus.COMPLETED
        assert load_output(resumed) == expected("chain", arguments)
        for index in range(victim):
            assert resumed.steps[f"add_{index}"].status is ExecutionStatus.CACHED
            reused += 1
    print(
        f"Ray: {WORKER_FAULTS} worker SIGKILLs mid-step, {checked} completed outputs "
        f"verified, {reused} steps reused by resume, in {time.monotonic() - started:.1f} s"
    )
