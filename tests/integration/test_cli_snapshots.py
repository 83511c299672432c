"""``headrace pipeline snapshot ...`` against a real project, store, files and processes.

Every test writes a small project (``run.py``) into a fresh repository. Commands run
in-process through Typer's ``CliRunner``; one test runs the console script as real
subprocesses. Snapshot runs always execute in a separate process, so tests either pass
``--wait`` or wait on the run through the Client before looking at it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from headrace.cli.main import app
from headrace.client import Client
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.enums import ExecutionStatus
from headrace.models import PipelineRunResponse

# Rich must see a pipe, not a terminal, whatever the developer's shell exports.
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

RUN_TIMEOUT = 120
MAIN_MARKER = "main-block-ran.txt"

PROJECT = textwrap.dedent(
    f'''
    """A user's project: what `headrace pipeline snapshot create run.my_pipeline` loads."""

    import time
    from pathlib import Path

    from headrace import pipeline, step


    @step
    def load_rows(rows: int = 3, prefix: str = "row") -> list[str]:
        """Make the rows.

        Args:
            rows: How many rows to make.
            prefix: What each row starts with.
        """
        return [f"{{prefix}}-{{i}}" for i in range(rows)]


    @step
    def join_rows(items: list[str], separator: str = ",", scale: float = 1.0) -> str:
        """Join the rows.

        Args:
            items: The rows to join.
            separator: What goes between two rows.
            scale: A factor written after the rows.
        """
        return separator.join(items) + f"@{{scale}}"


    @pipeline(enable_cache=False)
    def my_pipeline() -> None:
        join_rows(load_rows())


    @step
    def explode(limit: int = 1) -> int:
        """Always fails."""
        raise ValueError(f"limit {{limit}} exceeded")


    @pipeline(enable_cache=False)
    def failing() -> None:
        explode()


    @step
    def nap(seconds: float = 2.0) -> float:
        """Sleep a while."""
        time.sleep(seconds)
        return seconds


    @pipeline(enable_cache=False)
    def sleepy() -> None:
        nap()


    if __name__ == "__main__":
        # Must never happen: the CLI imports run.py by name, it does not execute it.
        Path("{MAIN_MARKER}").write_text("ran")
        my_pipeline()
    '''
)

EXPECTED_DEFAULT_OUTPUT = "row-0,row-1,row-2@1.0"


@pytest.fixture
def project(repo: Path) -> Iterator[Path]:
    """The repository with ``run.py`` in it; ``run`` is imported afresh by each test."""
    (repo / "run.py").write_text(PROJECT)
    sys.modules.pop("run", None)
    yield repo
    sys.modules.pop("run", None)


def invoke(*args: str, input: str | None = None) -> Result:
    """Run ``headrace ARGS`` in-process."""
    return RUNNER.invoke(app, list(args), input=input)


def create(name: str = "nightly", source: str = "run.my_pipeline", *extra: str) -> Result:
    """``headrace pipeline snapshot create SOURCE --name NAME ...``, which must succeed."""
    result = invoke("pipeline", "snapshot", "create", source, "--name", name, *extra)
    assert result.exit_code == 0, result.output
    return result


def started_run(result: Result) -> PipelineRunResponse:
    """The run whose id ``snapshot run`` printed."""
    match = re.search(r"Started run '([^']+)' \(id ([0-9a-f-]{36})\)\.", result.stdout)
    assert match, result.output
    run = Client().get_pipeline_run(match.group(2))
    assert run.name == match.group(1)
    return run


def row_of(output: str, key: str) -> list[str]:
    """The whitespace-separated cells of the only table line that starts with ``key``."""
    lines = [line for line in output.splitlines() if line.split()[:1] == [key]]
    assert len(lines) == 1, f"expected one line starting with {key!r} in:\n{output}"
    return lines[0].split()


def run_count() -> int:
    """How many pipeline runs the store holds."""
    return Client().list_pipeline_runs(size=1).total


def output_of(run: PipelineRunResponse, step: str) -> object:
    """The loaded output of one step of a finished run."""
    return run.refresh().steps[step].output.load()


# -- create -------------------------------------------------------------------------------
def test_create_prints_the_snapshot_and_does_not_run_the_script(project: Path) -> None:
    result = create("nightly", "run.my_pipeline", "--description", "Nightly rows")

    snapshot = Client().get_snapshot("nightly")
    assert "Created snapshot 'nightly'." in result.stdout
    assert f"id:          {snapshot.id}" in result.stdout
    assert "pipeline:    my_pipeline" in result.stdout
    assert "steps:       2" in result.stdout
    assert snapshot.code_digest and f"code digest: {snapshot.code_digest}" in result.stdout
    assert snapshot.description == "Nightly rows"
    assert snapshot.extra["source_root"] == str(project)
    assert not (project / MAIN_MARKER).exists()
    assert run_count() == 0  # creating a snapshot runs nothing


def test_create_applies_a_config_file(project: Path) -> None:
    config = project / "create.yaml"
    config.write_text("steps:\n  load_rows:\n    parameters:\n      rows: 2\n")

    create("short", "run.my_pipeline", "--config", str(config))

    template = Client().get_snapshot("short").config_template
    assert template.steps["load_rows"].parameters == {"rows": 2, "prefix": "row"}


def test_create_refuses_what_is_not_a_pipeline(project: Path) -> None:
    step = invoke("pipeline", "snapshot", "create", "run.load_rows", "--name", "x")
    assert step.exit_code == 1
    assert "'run.load_rows' is a step, not a pipeline" in step.stderr

    missing = invoke("pipeline", "snapshot", "create", "run.no_such_thing", "--name", "x")
    assert missing.exit_code == 1
    assert "Cannot load 'run.no_such_thing'" in missing.stderr
    assert "no attribute 'no_such_thing'" in missing.stderr

    no_module = invoke("pipeline", "snapshot", "create", "nowhere.my_pipeline", "--name", "x")
    assert no_module.exit_code == 1
    assert "Cannot load 'nowhere.my_pipeline'" in no_module.stderr
    assert Client().list_snapshots().total == 0


def test_a_taken_name_needs_replace(project: Path) -> None:
    first = create("nightly")
    original = Client().get_snapshot("nightly")

    taken = invoke("pipeline", "snapshot", "create", "run.my_pipeline", "--name", "nightly")
    assert taken.exit_code == 1
    assert "A snapshot named 'nightly' already exists" in taken.stderr
    assert original.id in taken.stderr
    assert Client().get_snapshot("nightly").id == original.id

    replaced = create("nightly", "run.my_pipeline", "--replace")
    assert "Replaced snapshot 'nightly'." in replaced.stdout
    assert "Created" in first.stdout
    assert Client().get_snapshot("nightly").id != original.id
    assert Client().list_snapshots().total == 1


def test_create_without_a_repository_uses_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headrace.store.factory import forget_stores

    project = tmp_path / "plain"
    project.mkdir()
    (project / "run.py").write_text(PROJECT)
    monkeypatch.chdir(project)
    monkeypatch.setenv("HEADRACE_STORE_URL", f"sqlite:///{tmp_path / 'store' / 'headrace.db'}")
    sys.modules.pop("run", None)
    try:
        create("plain")
        assert Client().get_snapshot("plain").extra["source_root"] == str(project)
        assert "HEADRACE_SOURCE_ROOT" not in os.environ  # the CLI put it back
        assert str(project) not in sys.path
    finally:
        sys.modules.pop("run", None)
        forget_stores()


# -- list and describe ---------------------------------------------------------------------
def test_list_shows_snapshots_with_steps_runs_and_description(project: Path) -> None:
    create("nightly", "run.my_pipeline", "--description", "Nightly rows")
    create("broken", "run.failing")
    run = started_run(invoke("pipeline", "snapshot", "run", "nightly", "--wait"))
    assert run.refresh().status == ExecutionStatus.COMPLETED

    result = invoke("pipeline", "snapshot", "list")
    assert result.exit_code == 0, result.output
    nightly = row_of(result.stdout, "nightly")
    assert nightly[1] == "my_pipeline"
    assert nightly[4:6] == ["2", "1"]  # after the two cells of the creation time
    assert nightly[6:8] == ["Nightly", "rows"]
    broken = row_of(result.stdout, "broken")
    assert broken[1] == "failing" and broken[4:6] == ["1", "0"]
    # Newest first.
    assert result.stdout.index("broken") < result.stdout.index("nightly")

    only_failing = invoke("pipeline", "snapshot", "list", "--pipeline", "failing")
    assert "broken" in only_failing.stdout and "nightly" not in only_failing.stdout

    unknown = invoke("pipeline", "snapshot", "list", "--pipeline", "nope")
    assert unknown.exit_code == 1
    assert "nope" in unknown.stderr


def test_list_without_snapshots_says_how_to_make_one(project: Path) -> None:
    result = invoke("pipeline", "snapshot", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "headrace pipeline snapshot create" in result.stderr


def test_describe_shows_parameters_with_types_defaults_and_descriptions(project: Path) -> None:
    create("nightly", "run.my_pipeline", "--description", "Nightly rows")
    snapshot = Client().get_snapshot("nightly")

    before = invoke("pipeline", "snapshot", "describe", "nightly")
    assert before.exit_code == 0, before.output
    out = before.stdout
    assert "Snapshot nightly" in out
    assert f"id:            {snapshot.id}" in out
    assert "pipeline:      my_pipeline" in out
    assert "description:   Nightly rows" in out
    assert f"code digest:   {snapshot.code_digest}" in out
    assert f"python:        {snapshot.environment['python_version']}" in out
    assert f"headrace:      {snapshot.environment['headrace_version']}" in out
    assert f"distributions: {len(snapshot.environment['distributions'])} installed" in out
    assert "runs:          0" in out
    assert "last run:      -" in out
    lines = {tuple(line.split()[:4]): line for line in out.splitlines() if line.strip()}
    assert "How many rows to make." in lines[("load_rows", "rows", "integer", "3")]
    assert "What each row starts with." in lines[("load_rows", "prefix", "string", '"row"')]
    assert "What goes between two rows." in lines[("join_rows", "separator", "string", '","')]
    assert "A factor written after the rows." in lines[("join_rows", "scale", "number", "1.0")]
    assert not any(key[:2] == ("join_rows", "items") for key in lines)  # an input, not a param

    run = started_run(invoke("pipeline", "snapshot", "run", "nightly", "--wait"))
    after = invoke("pipeline", "snapshot", "describe", snapshot.id[:8]).stdout
    assert "runs:          1" in after
    assert f"last run:      {run.name} (completed)" in after


def test_describe_an_unknown_snapshot_fails(project: Path) -> None:
    result = invoke("pipeline", "snapshot", "describe", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "nope" in result.stderr


# -- config and run ------------------------------------------------------------------------
def test_config_template_round_trips_and_an_edited_copy_changes_the_run(project: Path) -> None:
    create("nightly")
    snapshot = Client().get_snapshot("nightly")
    template_file = project / "nightly.yaml"

    written = invoke("pipeline", "snapshot", "config", "nightly", "--output", str(template_file))
    assert written.exit_code == 0, written.output
    assert str(template_file) in written.stderr
    text = template_file.read_text()
    assert invoke("pipeline", "snapshot", "config", "nightly").stdout == text
    assert "# integer: How many rows to make." in text
    loaded = PipelineRunConfiguration.model_validate(yaml.safe_load(text))
    assert loaded.model_dump() == snapshot.config_template.model_dump()

    # Edit the file as a user would: change values, keep the comments.
    edited = project / "edited.yaml"
    edited.write_text(text.replace("rows: 3", "rows: 5").replace("scale: 1.0", "scale: 2.5"))
    result = invoke("pipeline", "snapshot", "run", "nightly", "--config", str(edited), "--wait")
    assert result.exit_code == 0, result.output
    run = started_run(result)
    assert f"Run '{run.name}' finished: completed" in result.stdout
    assert output_of(run, "join_rows") == "row-0,row-1,row-2,row-3,row-4@2.5"
    assert run.refresh().snapshot_id == snapshot.id

    # The snapshot itself is unchanged: a plain run uses its values.
    plain = started_run(invoke("pipeline", "snapshot", "run", "nightly", "--wait"))
    assert output_of(plain, "join_rows") == EXPECTED_DEFAULT_OUTPUT


def test_run_without_wait_returns_at_once(project: Path) -> None:
    create("nightly")

    result = invoke("pipeline", "snapshot", "run", "nightly")
    assert result.exit_code == 0, result.output
    run = started_run(result)
    assert f"headrace run show {run.name}" in result.stdout
    finished = run.wait(timeout=RUN_TIMEOUT)
    assert finished.status == ExecutionStatus.COMPLETED
    assert output_of(finished, "join_rows") == EXPECTED_DEFAULT_OUTPUT


def test_a_config_that_does_not_fit_lists_every_problem_and_runs_nothing(project: Path) -> None:
    create("nightly")
    bad = project / "bad.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            steps:
              no_such_step:
                parameters: {a: 1}
              load_rows:
                parameters:
                  rows: many
                  colour: red
            """
        )
    )
    before = run_count()

    result = invoke("pipeline", "snapshot", "run", "nightly", "--config", str(bad), "--wait")

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: Invalid run configuration for 'nightly' (3 problem(s)):"
    assert lines[1:] == [
        "  - unknown step 'no_such_step' (steps: load_rows, join_rows).",
        "  - steps.load_rows.parameters.rows: 'many' is not valid: 'many' is not of type "
        "'integer'.",
        "  - steps.load_rows.parameters.colour: unknown parameter (parameters: rows, prefix).",
    ]
    assert run_count() == before


def test_a_failed_run_exits_1_with_the_failed_step(project: Path) -> None:
    create("broken", "run.failing")

    result = invoke("pipeline", "snapshot", "run", "broken", "--wait")

    assert result.exit_code == 1
    run = started_run(result)
    assert f"Run '{run.name}' finished: failed" in result.stdout
    assert "Step 'explode' failed: ValueError: limit 1 exceeded" in result.stderr
    assert f"headrace run show {run.name}" in result.stderr
    assert run.refresh().status == ExecutionStatus.FAILED


def test_a_timeout_exits_1_and_leaves_the_run_going(project: Path) -> None:
    create("sleepy", "run.sleepy")

    result = invoke("pipeline", "snapshot", "run", "sleepy", "--timeout", "0.2")

    assert result.exit_code == 1
    run = started_run(result)
    assert "did not finish within 0.2 s" in result.stderr
    assert "goes on in the background" in result.stderr
    assert run.wait(timeout=RUN_TIMEOUT).status == ExecutionStatus.COMPLETED


# -- delete --------------------------------------------------------------------------------
def test_delete_asks_first_and_keeps_the_runs_readable(project: Path) -> None:
    create("nightly")
    run = started_run(invoke("pipeline", "snapshot", "run", "nightly", "--wait"))

    kept = invoke("pipeline", "snapshot", "delete", "nightly", input="n\n")
    assert kept.exit_code == 0, kept.output
    assert "Delete snapshot 'nightly' of pipeline 'my_pipeline'? Its 1 run(s)" in kept.stdout
    assert "Kept snapshot 'nightly'." in kept.stderr
    assert Client().get_snapshot("nightly").name == "nightly"

    deleted = invoke("pipeline", "snapshot", "delete", "nightly", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted snapshot 'nightly'; its 1 run(s) are kept." in deleted.stdout
    assert Client().list_snapshots().total == 0
    assert invoke("pipeline", "snapshot", "describe", "nightly").exit_code == 1

    after = Client().get_pipeline_run(run.id)
    assert after.status == ExecutionStatus.COMPLETED
    assert output_of(after, "join_rows") == EXPECTED_DEFAULT_OUTPUT
    shown = invoke("run", "show", run.name)
    assert shown.exit_code == 0, shown.output
    assert "join_rows" in shown.stdout


# -- the real console script ----------------------------------------------------------------
def headrace_script() -> str:
    """The installed ``headrace`` console script next to this interpreter."""
    script = shutil.which("headrace", path=str(Path(sys.executable).parent))
    assert script is not None, "the headrace console script is not installed in this venv"
    return script


def test_console_script_creates_and_runs_a_snapshot(project: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}

    def headrace(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [headrace_script(), *args],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )

    created = headrace("pipeline", "snapshot", "create", "run.my_pipeline", "--name", "cli")
    assert created.returncode == 0, created.stderr
    assert "Created snapshot 'cli'." in created.stdout
    assert not (project / MAIN_MARKER).exists()

    ran = headrace("pipeline", "snapshot", "run", "cli", "--wait")
    assert ran.returncode == 0, ran.stderr
    match = re.search(r"\(id ([0-9a-f-]{36})\)", ran.stdout)
    assert match, ran.stdout
    assert "finished: completed" in ran.stdout
    run = Client().get_pipeline_run(match.group(1))
    assert run.status == ExecutionStatus.COMPLETED
    assert output_of(run, "join_rows") == EXPECTED_DEFAULT_OUTPUT
    assert Client().get_snapshot("cli").id == run.snapshot_id
