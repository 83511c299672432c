"""Snapshots as the seeds' users meet them: pipeline parameters in templates, new
parameters for static pipelines, snapshots made from past runs, replaced snapshots.
Real runner processes, real SQLite, and the real CLI in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from headrace.client import Client
from headrace.enums import ExecutionStatus
from headrace.exceptions import RunConfigurationError, SnapshotError

PROJECT = textwrap.dedent(
    '''
    from headrace import pipeline, step

    @step
    def square(x: int = 0) -> int:
        return x * x

    @step
    def scale(value: int, factor: int = 1) -> int:
        """Multiply.

        Args:
            factor: what to multiply by.
        """
        return value * factor

    @pipeline
    def squares(n: int = 2, factor: int = 10):
        """Square 0..n-1 and scale the first one.

        Args:
            n: how many squares.
            factor: the scale.
        """
        first = square.with_options(name="square_0")(x=0)
        for i in range(1, n):
            square.with_options(name=f"square_{i}")(x=i)
        scale(first, factor=factor)

    @pipeline(dynamic=True)
    def grows(count: int = 2):
        """Grows at run time.

        Args:
            count: how many steps.
        """
        for i in range(count):
            square.with_options(name=f"square_{i}")(x=i)
    '''
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def cli(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real ``headrace`` command in a subprocess, in ``repo``."""
    return subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", *args],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.fixture
def project(repo: Path) -> Iterator[ModuleType]:
    (repo / "project.py").write_text(PROJECT, encoding="utf-8")
    sys.path.insert(0, str(repo))
    sys.modules.pop("project", None)
    import project as module

    yield module
    sys.path.remove(str(repo))
    sys.modules.pop("project", None)


# -- pipeline parameters in templates ---------------------------------------------------
def test_a_dynamic_snapshot_shows_its_pipeline_parameters(repo: Path, project: ModuleType) -> None:
    project.grows.create_snapshot(name="grows")
    template = Client().get_snapshot("grows").config_template
    assert template.parameters == {"count": 2}

    config = cli(repo, "pipeline", "snapshot", "config", "grows").stdout
    assert "parameters:\n  # integer: how many steps.\n  count: 2\n" in config
    assert yaml.safe_load(config) == {"parameters": {"count": 2}}

    described = cli(repo, "pipeline", "snapshot", "describe", "grows").stdout
    row = next(line for line in described.splitlines() if "count" in line)
    assert row.split()[:4] == ["(pipeline)", "count", "integer", "2"]

    edited = repo / "grows.yaml"
    edited.write_text(config.replace("count: 2", "count: 3"), encoding="utf-8")
    started = cli(repo, "pipeline", "snapshot", "run", "grows", "--config", str(edited), "--wait")
    assert "completed" in started.stdout
    run = Client().list_pipeline_runs(pipeline_name="grows").items[0]
    assert sorted(run.steps) == ["square_0", "square_1", "square_2"]


# -- static pipelines compiled again ------------------------------------------------------
def test_a_static_snapshot_takes_new_pipeline_parameters(repo: Path, project: ModuleType) -> None:
    snapshot = project.squares.create_snapshot(name="squares")
    assert sorted(snapshot.spec.steps) == ["scale", "square_0", "square_1"]
    template = snapshot.config_template
    assert template.parameters == {"n": 2, "factor": 10}
    template.parameters["n"] = 4
    template.parameters["factor"] = 3  # the unchanged steps.scale.parameters.factor: 10 stays
    run = Client().trigger_pipeline(snapshot_name_or_id="squares", run_configuration=template)
    run = run.wait(timeout=60)
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert sorted(run.steps) == ["scale", "square_0", "square_1", "square_2", "square_3"]
    assert run.steps["scale"].output.load() == 0 and run.steps["scale"].parameters["factor"] == 3
    assert run.parameters == {"n": 4, "factor": 3}
    assert run.snapshot_id == snapshot.id  # still a run of the named snapshot
    graph = Client().get_snapshot(run.run_metadata["graph_snapshot_id"])
    assert sorted(graph.spec.steps) == sorted(run.steps)  # the graph it ran is recorded

    # a step parameter the user did change still wins over what the pipeline feeds it
    changed = {"parameters": {"n": 3}, "steps": {"scale": {"parameters": {"factor": 7}}}}
    run = (
        Client()
        .trigger_pipeline(snapshot_name_or_id="squares", run_configuration=changed)
        .wait(timeout=60)
    )
    assert run.steps["scale"].parameters["factor"] == 7 and len(run.steps) == 4


def test_new_parameters_are_checked_before_anything_runs(repo: Path, project: ModuleType) -> None:
    project.squares.create_snapshot(name="squares")
    with pytest.raises(RunConfigurationError, match=r"parameters.n: 'four' is not valid"):
        Client().trigger_pipeline(
            snapshot_name_or_id="squares", run_configuration={"parameters": {"n": "four"}}
        )
    with pytest.raises(RunConfigurationError, match=r"parameters.size: unknown pipeline parameter"):
        Client().trigger_pipeline(
            snapshot_name_or_id="squares", run_configuration={"parameters": {"size": 1}}
        )
    # a step the new graph does not have fails the run, named, before any step runs
    run = (
        Client()
        .trigger_pipeline(
            snapshot_name_or_id="squares",
            run_configuration={
                "parameters": {"n": 1},
                "steps": {"square_1": {"enable_cache": False}},
            },
        )
        .wait(timeout=60)
    )
    assert run.status is ExecutionStatus.FAILED
    assert "has no step(s) 'square_1'" in (run.status_reason or "")


# -- snapshots from past runs ------------------------------------------------------------
def test_a_snapshot_from_a_plain_run_reproduces_it(repo: Path, project: ModuleType) -> None:
    original = project.squares.with_options(parameters={"n": 3, "factor": 5})()
    snapshot = Client().create_snapshot_from_run(original.name, "again")
    assert snapshot.runnable and snapshot.code_digest
    assert snapshot.spec.parameters == {"n": 3, "factor": 5}
    assert snapshot.extra["from_run"]["name"] == original.name
    # the working tree changes afterwards: the snapshot keeps the run's code
    (repo / "project.py").write_text(PROJECT.replace("x * x", "x * x + 1"), encoding="utf-8")
    run = Client().trigger_pipeline(snapshot_name_or_id="again").wait(timeout=60)
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert {name: step.output.load() for name, step in run.steps.items()} == {
        name: step.output.load() for name, step in original.steps.items()
    }


def test_a_snapshot_from_a_plain_run_is_refused_when_the_code_changed(
    repo: Path, project: ModuleType
) -> None:
    original = project.squares()
    (repo / "project.py").write_text(PROJECT.replace("x * x", "x * x * x"), encoding="utf-8")
    sys.modules.pop("project", None)
    with pytest.raises(SnapshotError, match=r"code changed since: project\.square"):
        Client().create_snapshot_from_run(original.name, "again")
    assert Client().list_snapshots().total == 0


def test_snapshot_create_from_run_on_the_cli(repo: Path, project: ModuleType) -> None:
    project.squares.create_snapshot(name="squares")
    first = (
        Client()
        .trigger_pipeline(
            snapshot_name_or_id="squares",
            run_configuration={"steps": {"square_1": {"parameters": {"x": 9}}}},
        )
        .wait(timeout=60)
    )
    created = cli(repo, "pipeline", "snapshot", "create", "--from-run", first.name, "--name", "r1")
    assert "Created snapshot 'r1'." in created.stdout
    made = Client().get_snapshot("r1")
    assert made.code_digest == Client().get_snapshot("squares").code_digest  # same pinned code
    assert made.spec.steps["square_1"].parameters == {"x": 9}  # the run's configuration
    ran = cli(repo, "pipeline", "snapshot", "run", "r1", "--wait")
    assert "completed" in ran.stdout
    # --wait follows the run in the runner process with the same progress lines
    progress = ran.stderr.splitlines()
    assert any(line.startswith("Running pipeline 'squares' as run ") for line in progress)
    assert any(line.startswith("Step 'square_1' cached: ") for line in progress)  # as ran
    assert progress[-1].startswith("Run ") and "completed in" in progress[-1]
    rerun = Client().list_pipeline_runs(snapshot_id=made.id).items[0]
    assert rerun.steps["square_1"].output.load() == 81

    both = cli(repo, "pipeline", "snapshot", "create", "project.squares", "--from-run", "x",
               "--name", "y", check=False)  # fmt: skip
    assert both.returncode == 1 and "not both" in both.stderr
    missing = cli(repo, "pipeline", "snapshot", "create", "--from-run", "no-such-run",
                  "--name", "y", check=False)  # fmt: skip
    assert missing.returncode == 1 and "no-such-run" in missing.stderr


# -- replaced snapshots ------------------------------------------------------------------
def test_triggering_a_replaced_snapshot_says_by_which(repo: Path, project: ModuleType) -> None:
    old = project.squares.create_snapshot(name="nightly")
    new = project.squares.create_snapshot(name="nightly", replace=True)
    with pytest.raises(SnapshotError) as info:
        Client().trigger_pipeline(snapshot_name_or_id=old.id)
    message = str(info.value)
    assert f"Snapshot {old.id} was replaced" in message
    assert f"by snapshot 'nightly' (id {new.id})" in message
    result = cli(repo, "pipeline", "snapshot", "run", old.id, check=False)
    assert result.returncode == 1 and f"(id {new.id})" in result.stderr


# -- long work shows progress ------------------------------------------------------------
def test_uploading_a_code_archive_says_so(repo: Path, project: ModuleType) -> None:
    first = cli(repo, "pipeline", "snapshot", "create", "project.squares", "--name", "a")
    assert "Uploading the code archive (1 files, " in first.stderr
    assert "Uploaded the code archive in " in first.stderr
    again = cli(repo, "pipeline", "snapshot", "create", "project.squares", "--name", "b")
    assert "Uploading" not in again.stderr  # the same code is stored once

    (repo / "weights.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    large = cli(repo, "pipeline", "snapshot", "create", "project.squares", "--name", "c")
    for percent in (25, 50, 75):
        assert f"{percent}% of the code archive uploaded." in large.stderr
    assert "(2 files, 6.0 MiB)" in large.stderr


def test_waiting_on_a_run_says_it_waits_for_it_to_start(repo: Path, project: ModuleType) -> None:
    project.squares.create_snapshot(name="squares")
    ran = cli(repo, "pipeline", "snapshot", "run", "squares", "--wait")
    first = ran.stderr.splitlines()[0]
    # the runner process takes a moment to start: the wait says what it waits for
    assert first.startswith("Waiting for run 'squares-") and "(status: initializing)" in first
