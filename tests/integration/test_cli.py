"""The ``headrace`` command line against real pipelines, a real SQLite store and real files.

Most commands run in-process through Typer's ``CliRunner`` (the real code, no mocks);
``init`` and ``run show`` also run as real subprocesses to cover the console script and
``python -m headrace.cli.main``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
from typer.testing import CliRunner, Result

from headrace import pipeline, step
from headrace.cli.main import app
from headrace.exceptions import RunFailedError
from headrace.models import PipelineRunResponse

# Rich must see a pipe, not a terminal, whatever the developer's shell exports.
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

TOTAL_ARTIFACT = "cli_total"


@step
def make_numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(numbers: list[int]) -> Annotated[int, TOTAL_ARTIFACT]:
    return sum(numbers)


@step
def explode(value: int) -> int:
    raise ValueError(f"cannot handle {value}")


@pipeline(enable_cache=False)
def cli_sum(n: int = 4) -> None:
    total(make_numbers(n))


@pipeline(enable_cache=False)
def cli_failing() -> None:
    explode(total(make_numbers(3)))


@dataclass
class Runs:
    """The runs every CLI test looks at, oldest first."""

    first_sum: PipelineRunResponse
    second_sum: PipelineRunResponse
    failed: PipelineRunResponse


@pytest.fixture
def runs(repo: Path) -> Runs:
    """Two completed runs of ``cli_sum`` (n=4, then n=5) and one failed ``cli_failing``."""
    from headrace.client import Client

    first = cli_sum(n=4)
    second = cli_sum(n=5)
    with pytest.raises(RunFailedError):
        cli_failing()
    failed = Client().get_pipeline("cli_failing").last_run
    return Runs(first_sum=first, second_sum=second, failed=failed)


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``headrace ARGS`` in-process."""
    return RUNNER.invoke(app, list(args), env=env)


def row_of(output: str, key: str) -> list[str]:
    """The whitespace-separated cells of the only table line that contains ``key``."""
    lines = [line for line in output.splitlines() if key in line]
    assert len(lines) == 1, f"expected one line with {key!r} in:\n{output}"
    return lines[0].split()


def subprocess_env() -> dict[str, str]:
    """The test's environment without terminal hints (HEADRACE_* are cleared already)."""
    return {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}


def headrace_script() -> str:
    """The installed ``headrace`` console script next to this interpreter."""
    script = shutil.which("headrace", path=str(Path(sys.executable).parent))
    assert script is not None, "the headrace console script is not installed in this venv"
    return script


# -- init ---------------------------------------------------------------------------------
def test_init_as_subprocess_creates_then_finds_the_repository(repo: Path) -> None:
    target = repo / "project"
    target.mkdir()

    def init() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [headrace_script(), "init", "project"],
            cwd=repo,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = init()
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"Initialized headrace repository in {target / '.headrace'}"
    assert (target / ".headrace" / "headrace.db").is_file()

    again = init()
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"Found existing headrace repository in {target / '.headrace'}"


def test_init_in_process_keeps_existing_runs(runs: Runs, repo: Path) -> None:
    result = invoke("init")

    assert result.exit_code == 0, result.output
    assert "Found existing headrace repository" in result.stdout
    assert row_of(invoke("pipeline", "list").stdout, "cli_sum")[2] == "2"


# -- pipelines and runs -------------------------------------------------------------------
def test_pipeline_list_counts_runs_and_shows_the_last_one(runs: Runs) -> None:
    result = invoke("pipeline", "list")

    assert result.exit_code == 0, result.output
    sum_row = row_of(result.stdout, "cli_sum ")
    assert sum_row[:5] == [
        "cli_sum",
        (runs.second_sum.pipeline_id or "")[:8],
        "2",
        runs.second_sum.name,
        "completed",
    ]
    failing_row = row_of(result.stdout, "cli_failing ")
    assert failing_row[2:5] == ["1", runs.failed.name, "failed"]


def test_pipeline_list_on_an_empty_store_says_so(repo: Path) -> None:
    result = invoke("pipeline", "list")

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No pipelines yet" in result.stderr


def test_runs_list_is_newest_first_with_status_and_duration(runs: Runs) -> None:
    result = invoke("pipeline", "runs", "list")

    assert result.exit_code == 0, result.output
    names = [runs.failed.name, runs.second_sum.name, runs.first_sum.name]
    positions = [result.stdout.index(name) for name in names]
    assert positions == sorted(positions)
    failed_row = row_of(result.stdout, runs.failed.name)
    assert failed_row[1:3] == ["cli_failing", "failed"]
    assert failed_row[-1] == runs.failed.id[:8]
    assert failed_row[-2].endswith(("ms", "s"))  # a duration, not "-": the run finished


def test_runs_list_filters_by_pipeline_status_and_size(runs: Runs) -> None:
    by_pipeline = invoke("pipeline", "runs", "list", "--pipeline", "cli_sum")
    assert runs.first_sum.name in by_pipeline.stdout
    assert runs.second_sum.name in by_pipeline.stdout
    assert runs.failed.name not in by_pipeline.stdout

    by_status = invoke("pipeline", "runs", "list", "--status", "FAILED")
    assert by_status.exit_code == 0, by_status.output
    assert runs.failed.name in by_status.stdout
    assert "cli_sum-" not in by_status.stdout

    newest = invoke("pipeline", "runs", "list", "--size", "1")
    assert runs.failed.name in newest.stdout
    assert runs.second_sum.name not in newest.stdout
    assert "1 of 3 runs" in newest.stdout


def test_runs_list_with_unknown_pipeline_is_an_error_not_an_empty_table(runs: Runs) -> None:
    result = invoke("pipeline", "runs", "list", "--pipeline", "no_such_pipeline")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: No pipeline has the name or id 'no_such_pipeline'.\n"


def test_runs_list_refuses_an_unknown_status(runs: Runs) -> None:
    result = invoke("pipeline", "runs", "list", "--status", "exploded")

    assert result.exit_code == 2  # a usage error, reported by Typer before anything runs
    assert "exploded" in result.stderr


# -- run show -----------------------------------------------------------------------------
def test_run_show_draws_steps_outputs_and_errors(runs: Runs) -> None:
    result = invoke("run", "show", runs.failed.name)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Run", runs.failed.name, "failed"]
    assert "pipeline: cli_failing" in result.stdout
    assert f"id: {runs.failed.id}" in result.stdout
    step_lines = [
        line.strip("│├└─ ").split()[:2]
        for line in lines
        if line.strip("│├└─ ").startswith(("make_numbers ", "total ", "explode "))
    ]
    assert step_lines == [
        ["make_numbers", "completed"],
        ["total", "completed"],
        ["explode", "failed"],
    ]
    step = runs.failed.steps["total"]
    version = step.outputs[TOTAL_ARTIFACT][0]
    assert (
        f"{TOTAL_ARTIFACT} -> {TOTAL_ARTIFACT} (version {version.version}, int) {version.uri}"
        in result.stdout
    )
    assert "output -> cli_failing::make_numbers::output (version 1, list)" in result.stdout
    assert "error: ValueError: cannot handle 3" in result.stdout


def test_run_show_accepts_an_id_prefix(runs: Runs) -> None:
    result = invoke("run", "show", runs.first_sum.id[:8])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["Run", runs.first_sum.name, "completed"]
    assert "steps (2)" in result.stdout
    assert "error:" not in result.stdout


def test_run_show_as_subprocess(runs: Runs, repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "run", "show", runs.second_sum.name],
        cwd=repo,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["Run", runs.second_sum.name, "completed"]
    assert "make_numbers" in result.stdout and "total" in result.stdout
    assert "output -> cli_sum::make_numbers::output (version 2, list)" in result.stdout
    assert f"{TOTAL_ARTIFACT} -> {TOTAL_ARTIFACT}" in result.stdout


def test_unknown_run_as_subprocess_prints_one_line_and_exits_1(repo: Path) -> None:
    result = subprocess.run(
        [headrace_script(), "run", "show", "no-such-run"],
        cwd=repo,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "Error: No pipeline run has the name or id 'no-such-run'.\n"


# -- errors and --debug -------------------------------------------------------------------
def test_unknown_run_prints_one_red_line_without_traceback(runs: Runs) -> None:
    result = invoke("run", "show", "no-such-run")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: No pipeline run has the name or id 'no-such-run'.\n"
    assert "Traceback" not in result.output


def test_debug_option_adds_the_traceback(runs: Runs) -> None:
    result = invoke("--debug", "run", "show", "no-such-run")

    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "EntityNotFoundError: No pipeline run has the name or id 'no-such-run'." in (
        result.stderr
    )
    assert result.stderr.endswith("Error: No pipeline run has the name or id 'no-such-run'.\n")


def test_debug_environment_variable_adds_the_traceback(runs: Runs) -> None:
    result = invoke("run", "show", "no-such-run", env={"HEADRACE_DEBUG": "true"})

    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert "headrace/client.py" in result.stderr  # the frames, not only the message


# -- artifacts ----------------------------------------------------------------------------
def test_artifact_list_shows_versions_with_their_producing_step(runs: Runs) -> None:
    result = invoke("artifact", "list", "--size", "50")

    assert result.exit_code == 0, result.output
    newest_total = row_of(result.stdout, runs.failed.steps["total"].output.id[:8])
    assert newest_total[:5] == [TOTAL_ARTIFACT, "3", "int", "1", "B"]
    assert newest_total[5] == "total"
    numbers = row_of(result.stdout, runs.first_sum.steps["make_numbers"].output.id[:8])
    assert numbers[:3] == ["cli_sum::make_numbers::output", "1", "list"]
    assert numbers[5] == "make_numbers"


def test_artifact_list_filters_by_name_and_size(runs: Runs) -> None:
    result = invoke("artifact", "list", "--name", TOTAL_ARTIFACT, "--size", "2")

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(TOTAL_ARTIFACT)]
    assert [row[1] for row in rows] == ["3", "2"]  # newest first, cut at --size
    assert "2 of 3 versions" in result.stdout
    assert "make_numbers" not in result.stdout

    unknown = invoke("artifact", "list", "--name", "no_such_artifact")
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: No artifact has the name or id 'no_such_artifact'.\n"


def test_artifact_show_gives_details_and_value(runs: Runs) -> None:
    version = runs.first_sum.steps["total"].output
    result = invoke("artifact", "show", TOTAL_ARTIFACT, "--version", "1", "--value")

    assert result.exit_code == 0, result.output
    details = {
        line.split()[0]: " ".join(line.split()[1:])
        for line in result.stdout.splitlines()
        if line and not line.startswith(" ")
    }
    assert details["artifact"] == TOTAL_ARTIFACT
    assert details["version"] == "1"
    assert details["id"] == version.id
    assert details["uri"] == version.uri
    assert details["materializer"] == version.materializer
    assert f"total (run {runs.first_sum.name})" in result.stdout
    for key in version.metadata:
        assert f"  {key}" in result.stdout
    assert result.stdout.rstrip().endswith("value:\n6")  # 0 + 1 + 2 + 3


def test_artifact_show_by_id_and_latest_by_default(runs: Runs) -> None:
    numbers = runs.second_sum.steps["make_numbers"].output
    by_id = invoke("artifact", "show", numbers.id, "--value")
    assert by_id.exit_code == 0, by_id.output
    assert "cli_sum::make_numbers::output" in by_id.stdout
    assert by_id.stdout.rstrip().endswith("[0, 1, 2, 3, 4]")

    latest = invoke("artifact", "show", TOTAL_ARTIFACT)
    assert row_of(latest.stdout, "version")[1] == "3"
    assert f"total (run {runs.failed.name})" in latest.stdout
    assert "value:" not in latest.stdout


def test_artifact_show_unknown_version_is_one_line(runs: Runs) -> None:
    result = invoke("artifact", "show", TOTAL_ARTIFACT, "--version", "99")

    assert result.exit_code == 1
    assert result.stderr == f"Error: Artifact '{TOTAL_ARTIFACT}' has no version '99'.\n"


def test_help_lists_every_command_group() -> None:
    result = invoke("--help")

    assert result.exit_code == 0
    for command in ("init", "pipeline", "run", "artifact", "--debug"):
        assert command in result.stdout


def test_run_show_summarises_a_long_run_and_lists_all_on_request(repo: Path) -> None:
    from headrace import pipeline, step
    from headrace.cli.run_tree import EDGE_STEPS, FULL_LISTING_MAX_STEPS

    @step(enable_cache=False)
    def add_one(x: int) -> int:
        return x + 1

    @pipeline(enable_cache=False)
    def long_chain() -> None:
        x = add_one(0)
        for _ in range(FULL_LISTING_MAX_STEPS):
            x = add_one(x)

    run = long_chain()
    steps = FULL_LISTING_MAX_STEPS + 1
    summary = CliRunner().invoke(app, ["run", "show", run.name])
    assert summary.exit_code == 0, summary.output
    assert f"steps ({steps}: {steps} completed)" in summary.output
    assert f"... {steps - 2 * EDGE_STEPS} more steps (--all lists every step)" in summary.output
    assert f"add_one_{steps}  completed" in summary.output
    assert "add_one_100  " not in summary.output
    everything = CliRunner().invoke(app, ["run", "show", run.name, "--all"])
    assert everything.exit_code == 0, everything.output
    assert "add_one_100  completed" in everything.output
