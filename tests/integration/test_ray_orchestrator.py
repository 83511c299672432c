"""The Ray orchestrator on a real two-node Ray cluster (``tests/ray_cluster.py``).

Steps run in Ray worker processes, so everything a test checks is read back from the
store, the artifact store or files the steps wrote, never from this process's memory.
The step functions are module-level: workers import them by source (this directory is
on the cluster's ``PYTHONPATH``, as a user's package would be installed on a cluster).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from headrace import ExecutionMode, ExecutionStatus, get_step_context, pipeline, step
from headrace.client import Client
from headrace.config.resource_settings import ResourceSettings
from headrace.config.retry_config import StepRetryConfig
from headrace.exceptions import OrchestratorError, RunFailedError
from ray_cluster import RAY_GROUP, driver_environment, use_ray_orchestrator

pytestmark = [RAY_GROUP]

C, F, S, X = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.SKIPPED,
    ExecutionStatus.STOPPED,
)


# -- steps (run on Ray workers) -------------------------------------------------------------
@step(enable_cache=False)
def where() -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    return {
        "pid": os.getpid(),
        "node": context.get_node_id(),
        "resources": context.get_assigned_resources(),
    }


@step(enable_cache=False)
def add(x: int, y: int) -> int:
    return x + y


@step(enable_cache=False)
def flaky(counter: str, failures: int) -> int:
    path = Path(counter)
    attempts = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempts))
    if attempts <= failures:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@step(enable_cache=False)
def talk(words: str) -> str:
    print(f"step says {words}")
    return words


@step(enable_cache=False)
def breaks(after_s: float) -> int:
    time.sleep(after_s)
    raise RuntimeError("this step breaks")


@step(enable_cache=False)
def sleeps(seconds: float, marker: str) -> int:
    time.sleep(seconds)
    Path(marker).write_text("finished")
    return 1


@step(enable_cache=False)
def environment_of(name: str) -> str:
    return os.environ.get(name, "<unset>")


@step(enable_cache=False)
def sees_pipeline_state() -> bool:
    return get_step_context().pipeline_state is not None


@step
def cached_add(x: int, y: int) -> int:
    return x + y


def note_success() -> None:
    context = get_step_context()
    Path(os.environ["HR_HOOK_DIR"], f"success-{context.step_name}").write_text(str(os.getpid()))


def note_failure(exception: BaseException) -> None:
    context = get_step_context()
    Path(os.environ["HR_HOOK_DIR"], f"failure-{context.step_name}").write_text(str(exception))


def start_state() -> dict[str, int]:
    return {"threshold": 7}


@pytest.fixture
def on_ray(repo: Path, ray_orchestrator: str) -> str:
    """A repository whose active stack runs steps on the session's Ray cluster."""
    return ray_orchestrator


def _statuses(run_name: str) -> dict[str, ExecutionStatus]:
    return {name: s.status for name, s in Client().get_pipeline_run(run_name).steps.items()}


# -- tests ----------------------------------------------------------------------------------
def test_steps_run_in_ray_workers_with_their_resources(on_ray: str) -> None:
    @pipeline(enable_cache=False)
    def placed() -> None:
        where(id="default")
        where.with_options(settings={"resources": ResourceSettings(cpu_count=0.5, memory="64MB")})(
            id="sized"
        )

    run = placed()
    default = run.steps["default"].output.load()
    sized = run.steps["sized"].output.load()
    assert default["pid"] != os.getpid() and sized["pid"] != os.getpid()
    assert default["resources"] == {"CPU": 1.0}
    assert sized["resources"] == {"CPU": 0.5, "memory": 64_000_000.0}


def test_a_fan_out_and_in_over_both_nodes(on_ray: str) -> None:
    @pipeline(enable_cache=False)
    def fan() -> None:
        total = add(0, 0, id="zero")
        for i in range(6):
            total = add(total, add(i, 1, id=f"leaf_{i}"), id=f"sum_{i}")

    run = fan()
    assert run.status is C
    assert run.steps["sum_5"].output.load() == sum(range(1, 7))


def test_retries_happen_in_the_step_process(on_ray: str, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"

    @pipeline(enable_cache=False)
    def retried() -> None:
        flaky.with_options(retry=StepRetryConfig(max_retries=2))(str(counter), 2)

    run = retried()
    assert run.steps["flaky"].output.load() == 3
    assert counter.read_text() == "3"

    counter.unlink()

    @pipeline(enable_cache=False)
    def gives_up() -> None:
        flaky.with_options(retry=StepRetryConfig(max_retries=1))(str(counter), 5)

    with pytest.raises(RunFailedError, match="attempt 2 fails"):
        gives_up()
    assert counter.read_text() == "2"  # Ray itself never retried the task


def test_step_logs_are_kept_with_the_run(on_ray: str) -> None:
    @pipeline(enable_cache=False)
    def chatty() -> None:
        talk("hello from ray")

    run = chatty()
    assert "step says hello from ray" in Client().get_run_logs(run.name)["talk"]


def test_unreachable_address_fails_before_any_step(repo: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    use_ray_orchestrator(f"127.0.0.1:{port}")

    @pipeline(enable_cache=False)
    def nowhere() -> None:
        add(1, 2)

    started = time.monotonic()
    with pytest.raises((OrchestratorError, RunFailedError)) as info:
        nowhere()
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "ray start --head" in message
    runs = Client().list_pipeline_runs(pipeline_name="nowhere").items
    assert all(not run.steps for run in runs)


def test_fail_fast_cancels_running_ray_tasks(on_ray: str, tmp_path: Path) -> None:
    marker = tmp_path / "slow-finished"

    @pipeline(enable_cache=False, execution_mode=ExecutionMode.FAIL_FAST)
    def fast() -> None:
        breaks(1.0)
        sleeps(60.0, str(marker), id="slow")

    started = time.monotonic()
    with pytest.raises(RunFailedError) as info:
        fast()
    assert time.monotonic() - started < 30
    statuses = _statuses(info.value.run_name)
    assert statuses == {"breaks": F, "slow": X}
    assert not marker.exists()
    assert Client().get_pipeline_run(info.value.run_name).status is F


def test_stop_on_failure_lets_ray_tasks_finish(on_ray: str, tmp_path: Path) -> None:
    marker = tmp_path / "slow-finished"

    @pipeline(enable_cache=False, execution_mode=ExecutionMode.STOP_ON_FAILURE)
    def graceful() -> None:
        breaks(0.2)
        done = sleeps(2.0, str(marker), id="slow")
        add(done, 1, id="after")

    with pytest.raises(RunFailedError) as info:
        graceful()
    assert _statuses(info.value.run_name) == {"breaks": F, "slow": C, "after": S}
    assert marker.read_text() == "finished"


def test_caching_across_runs(on_ray: str) -> None:
    @pipeline
    def cached() -> None:
        cached_add(cached_add(1, 2, id="first"), 3, id="second")

    assert cached().steps["second"].output.load() == 6
    again = cached()
    assert {s.status for s in again.steps.values()} == {ExecutionStatus.CACHED}


def test_dynamic_pipeline_on_ray(on_ray: str) -> None:
    @pipeline(enable_cache=False, dynamic=True)
    def grows() -> None:
        first = add(1, 1, id="first")
        if first.load() == 2:
            for i in range(3):
                add(first, i, id=f"then_{i}")

    run = grows()
    assert run.status is C
    assert [run.steps[f"then_{i}"].output.load() for i in range(3)] == [2, 3, 4]


def test_hooks_environment_secrets_and_pipeline_state(on_ray: str, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    Client().create_secret("ray_secret", {"token": "s3cr3t"})

    @pipeline(
        enable_cache=False,
        environment={"HR_HOOK_DIR": str(hooks), "HR_PLAIN": "plain"},
        secrets=["ray_secret"],
        on_init=start_state,
    )
    def configured() -> None:
        environment_of("HR_PLAIN", id="plain")
        environment_of("TOKEN", id="secret")
        sees_pipeline_state()
        talk.with_options(on_success=note_success)("hooked")

    run = configured()
    assert run.steps["plain"].output.load() == "plain"
    assert run.steps["secret"].output.load() == "s3cr3t"
    assert run.steps["sees_pipeline_state"].output.load() is False  # driver-only state
    assert int((hooks / "success-talk").read_text()) != os.getpid()  # ran in the worker

    @pipeline(enable_cache=False, environment={"HR_HOOK_DIR": str(hooks)})
    def failing() -> None:
        breaks.with_options(on_failure=note_failure)(0.0)

    with pytest.raises(RunFailedError):
        failing()
    assert "this step breaks" in (hooks / "failure-breaks").read_text()


def test_max_parallelism_limits_tasks_in_flight(on_ray: str) -> None:
    use_ray_orchestrator(on_ray, max_parallelism=1)

    @pipeline(enable_cache=False)
    def wide() -> None:
        for i in range(3):
            add(i, 0, id=f"n{i}")

    run = wide()
    spans = sorted((s.start_time, s.end_time) for s in run.steps.values())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and start is not None and end <= start


def test_runs_on_postgres(
    ray_address: str, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headrace.store.factory import forget_stores, get_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEADRACE_STORE_URL", postgres_url)
    forget_stores()
    get_store(postgres_url, str(tmp_path / "artifacts")).get_default_stack()
    use_ray_orchestrator(ray_address)

    @pipeline(enable_cache=False)
    def on_pg() -> None:
        add(add(1, 2, id="a"), 3, id="b")

    run = on_pg()
    assert run.steps["b"].output.load() == 6
    assert Client().store.url.startswith("postgresql")


SCRIPT = """
    import os
    from headrace import pipeline, step

    @step(enable_cache=False)
    def shout(word: str) -> str:
        print(f"worker pid {os.getpid()} says {word}")
        return word.upper()

    @step(enable_cache=False)
    def join(a: str, b: str) -> str:
        return a + "-" + b

    @pipeline(enable_cache=False)
    def script_pipeline() -> None:
        join(shout("left", id="left"), shout("right", id="right"))

    if __name__ == "__main__":
        run = script_pipeline()
        print("driver pid", os.getpid(), "result", run.steps["join"].output.load())
"""


def test_a_main_script_pipeline_runs_on_ray(ray_address: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "run.py").write_text(textwrap.dedent(SCRIPT))
    environment = driver_environment()
    subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "init"],
        cwd=project,
        env=environment,
        check=True,
        capture_output=True,
    )
    configure = (
        f"from ray_cluster import use_ray_orchestrator; use_ray_orchestrator({ray_address!r})"
    )
    tests = str(Path(__file__).resolve().parent.parent)
    environment["PYTHONPATH"] = tests + os.pathsep + environment["PYTHONPATH"]
    subprocess.run(
        [sys.executable, "-c", configure], cwd=project, env=environment, check=True, timeout=60
    )
    result = subprocess.run(
        [sys.executable, "run.py"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    driver_line = next(line for line in result.stdout.splitlines() if "driver pid" in line)
    assert driver_line.endswith("result LEFT-RIGHT")
    driver_pid = driver_line.split()[2]
    # The steps ran in Ray workers (not the driver), and what they printed reached it.
    printed = result.stdout + result.stderr
    assert "says left" in printed and "says right" in printed
    assert f"worker pid {driver_pid} " not in printed
