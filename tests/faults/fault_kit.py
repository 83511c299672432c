"""What the fault suites share: the pipelines they kill, their driver script, and the
checks every fault is followed by (store integrity, completed outputs, leftovers).

Every step records its start by appending its process id as a line to a progress file
(an absolute path when steps run elsewhere, e.g. on Ray workers), so a test times its
kill from there, and knows which process runs the latest step.
"""

from __future__ import annotations

import random
import sqlite3
import textwrap
from pathlib import Path

from headrace import ExecutionStatus
from headrace.artifacts.leftovers import find_leftovers, recorded_uris
from headrace.client import Client
from headrace.models import PipelineRunResponse

MIN_PAUSE_S = 0.2  # the shortest step; a kill comes at most half of it after a step starts

PIPELINES_TEMPLATE = textwrap.dedent(
    """
    import os
    import time

    from headrace import pipeline, step

    PROGRESS = {progress!r}


    def _started() -> None:
        with open(PROGRESS, "a") as handle:  # the test times its kill from here
            handle.write(f"{{os.getpid()}}\\n")


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
            value = add(value, k, pause, id=f"add_{{index}}")
        return value


    @pipeline
    def fan(items: list[int], pauses: list[float]) -> int:
        pairs = enumerate(zip(items, pauses))
        return total([square(i, pause, id=f"square_{{n}}") for n, (i, pause) in pairs])
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


def arguments_for(rng: random.Random, shape: str) -> dict[str, object]:
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


def expected(shape: str, arguments: dict[str, object]) -> int:
    if shape == "chain":
        return int(arguments["start"]) + sum(arguments["ks"])  # type: ignore[call-overload, arg-type]
    return sum(i * i for i in arguments["items"])  # type: ignore[attr-defined]


def integrity(database: Path) -> str:
    connection = sqlite3.connect(database)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def check_outputs(seen: set[str]) -> int:
    """Every completed output of the runs not in ``seen`` loads with its value; returns
    how many were checked (and adds those runs to ``seen``). Every run has ended."""
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


def check_leftovers(artifacts: Path) -> int:
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


def pipelines(progress: str) -> str:
    """The pipelines' module text; steps append their pid to ``progress`` as they start."""
    return PIPELINES_TEMPLATE.format(progress=progress)


def started_pids(progress: Path) -> list[int]:
    """The process ids of the steps of the current run that have started, in order."""
    try:
        return [int(line) for line in progress.read_text().split()]
    except FileNotFoundError:
        return []


def load_output(run: PipelineRunResponse) -> int:
    (version,) = run.outputs.values()
    return int(version.load())
