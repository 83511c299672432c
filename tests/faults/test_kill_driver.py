"""Seeded fault injection: the driver of a run is killed with SIGKILL at random moments.

Chain and fan-out runs, on threads and on worker processes, are started as real
processes; once its first step started the test waits a seeded random time and kills
the driver. After every fault:

- the SQLite database passes ``pragma integrity_check``;
- every completed step's output loads with the value its inputs and parameters imply;
- no run is left unended (a short heartbeat limit; a killed driver on this host is
  noticed at once by its pid);
- every entry below ``runs/`` of the artifact store is either recorded or found by
  ``headrace clean``'s scan (which never lists a recorded one), and cleaning it keeps
  every completed output loadable;
- a cached rerun gives the right result.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from headrace import ExecutionStatus
from headrace.artifacts.leftovers import find_leftovers, recorded_uris
from headrace.client import Client
from headrace.models import PipelineRunResponse

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is a POSIX signal")

FAULTS = 20
SEED = 20261202
MIN_PAUSE_S = 0.2  # the shortest step; a kill comes at most half of it after a step starts

PIPELINES = textwrap.dedent(
    """
    import time

    from headrace import pipeline, step


    def _started() -> None:
        with open("progress", "a") as handle:  # the test times its kill from here
            handle.write(".")


    @step
    def add(x: int, k: int, pause: float) -> int:
        _started()
        time.sleep(pause)
        return x + k


    @step
    def square(i: int, pause: float) -> int:
        _started()
        time.sleep(pause)
        return i * i


    @step
    def total(values: list[int]) -> int:
        return sum(values)


    @pipeline
    def chain(start: int, ks: list[int], pauses: list[float]) -> int:
        value = start
        for index, (k, pause) in enumerate(zip(ks, pauses)):
            value = add(value, k, pause, id=f"add_{index}")
        return value


    @pipeline
    def fan(items: list[int], pauses: list[float]) -> int:
        return total(
            [square(i, pause, id=f"square_{n}") for n, (i, pause) in enumerate(zip(items, pauses))]
        )
    """
)

DRIVER = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    import fault_pipelines

    shape, mode, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    pipe = getattr(fault_pipelines, shape)
    if mode == "processes":
        pipe = pipe.with_options(settings={"orchestrator": {"processes": True}})
    pipe(**arguments)
    """
)


def _arguments(rng: random.Random, shape: str) -> dict[str, object]:
    size = rng.randrange(3, 7)
    # Every step sleeps longer than the kill may lag behind the step it follows, so the
    # kill always lands while the run goes on, however fast or loaded the machine is.
    pauses = [round(rng.uniform(MIN_PAUSE_S, 2 * MIN_PAUSE_S), 3) for _ in range(size)]
    if shape == "chain":
        return {
            "start": rng.randrange(100),
            "ks": [rng.randrange(1, 50) for _ in range(size)],
            "pauses": pauses,
        }
    return {"items": [rng.randrange(1, 30) for _ in range(size)], "pauses": pauses}


def _expected(shape: str, arguments: dict[str, object]) -> int:
    if shape == "chain":
        return int(arguments["start"]) + sum(arguments["ks"])  # type: ignore[call-overload, arg-type]
    return sum(i * i for i in arguments["items"])  # type: ignore[attr-defined]


def _integrity(database: Path) -> str:
    connection = sqlite3.connect(database)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def _check_outputs(seen: set[str]) -> int:
    """Every completed output of the runs not in ``seen`` loads with its value; returns
    how many were checked (and adds those runs to ``seen``)."""
    checked = 0
    for run in Client().list_pipeline_runs(size=50, sort_by="desc:created").items:
        if run.id in seen:
            continue
        seen.add(run.id)
        assert run.status.is_finished, f"run {run.name} left {run.status.value}"
        for step_run in run.steps.values():
            if step_run.status is not ExecutionStatus.COMPLETED:
                continue
            value = step_run.output.load()
            parameters = step_run.parameters
            if step_run.step_name == "add":
                x = parameters["x"] if "x" in parameters else step_run.inputs["x"][0].load()
                assert value == x + parameters["k"]
            elif step_run.step_name == "square":
                assert value == parameters["i"] ** 2
            else:
                assert value == sum(v.load() for v in step_run.inputs["values"])
            checked += 1
    return checked


def _check_leftovers(artifacts: Path) -> int:
    """Unrecorded entries are exactly what the scan finds; cleaning them loses nothing."""
    client = Client()
    leftovers = find_leftovers(client.store)
    found = {leftover.path for leftover in leftovers}
    recorded = recorded_uris(client.store)
    assert not found & recorded
    runs = artifacts / "runs"
    for run_directory in runs.iterdir() if runs.is_dir() else ():
        for entry in run_directory.iterdir():
            path = str(entry)
            assert (
                path in recorded
                or path in found
                or any(uri.startswith(path + "/") for uri in recorded)
            ), f"{path} is neither recorded nor found by headrace clean"
    for leftover in leftovers:
        leftover.remove()
    return len(leftovers)


@pytest.mark.slow
def test_killing_the_driver_at_random_moments_loses_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "5")
    (repo / "fault_pipelines.py").write_text(PIPELINES)
    (repo / "drive.py").write_text(DRIVER)
    monkeypatch.syspath_prepend(str(repo))
    import fault_pipelines  # type: ignore[import-not-found]

    database = repo / ".headrace" / "headrace.db"
    artifacts = repo / ".headrace" / "artifacts"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), *sys.path])}
    rng = random.Random(SEED)
    injected = cleaned = checked = cached = 0
    seen: set[str] = set()
    started = time.monotonic()
    for fault in range(FAULTS):
        shape = rng.choice(["chain", "fan"])
        mode = "processes" if fault % 5 == 4 else "threads"
        arguments = _arguments(rng, shape)
        (repo / "progress").unlink(missing_ok=True)
        driver = subprocess.Popen(
            [sys.executable, "drive.py", shape, mode, json.dumps(arguments)],
            cwd=repo,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # The kill follows a seeded random step's start by a seeded fraction of the
            # shortest step: the moment is random within the run, never after its end.
            steps = len(arguments["pauses"])  # type: ignore[arg-type]
            kill_after = rng.randrange(1, steps + 1)
            deadline = time.monotonic() + 60
            while driver.poll() is None and _started_steps(repo) < kill_after:
                assert time.monotonic() < deadline, "the driver never reached its step"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, MIN_PAUSE_S / 2))
            if driver.poll() is None:  # else it finished first: nothing to inject
                driver.send_signal(signal.SIGKILL)
                injected += 1
        finally:
            driver.kill()
            driver.wait()
        assert _integrity(database) == "ok"
        killed_runs = set(seen)
        checked += _check_outputs(seen)
        cleaned += _check_leftovers(artifacts)
        assert _check_outputs(killed_runs) >= 0  # cleaning kept completed outputs loadable
        rerun = getattr(fault_pipelines, shape)(**arguments)
        seen.add(rerun.id)
        assert rerun.status is ExecutionStatus.COMPLETED
        assert _load_output(rerun) == _expected(shape, arguments)
        cached += sum(s.status is ExecutionStatus.CACHED for s in rerun.steps.values())
    assert injected >= FAULTS * 3 // 4, f"only {injected} kills landed while a run went on"
    assert cached > 0, "no cached rerun reused a step the killed runs completed"
    print(
        f"{injected} SIGKILL faults in {FAULTS} runs, {checked} completed "
        f"outputs verified, {cleaned} leftovers cleaned, {cached} steps reused by cached "
        f"reruns, in {time.monotonic() - started:.1f} s"
    )


def _started_steps(repo: Path) -> int:
    """How many steps of the current run have started (one dot each)."""
    try:
        return len((repo / "progress").read_text())
    except FileNotFoundError:
        return 0


def _load_output(run: PipelineRunResponse) -> int:
    (version,) = run.outputs.values()
    return int(version.load())
