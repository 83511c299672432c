"""The CLI facing hostile names and values: control characters are shown escaped, bad
secret names and deep ``init`` paths are refused, non-finite numbers and YAML bombs in
configuration files are refused naming the file or parameter."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from headrace import pipeline, step
from headrace.cli.main import app
from headrace.client import Client
from headrace.exceptions import CompilationError, RunFailedError, StoreError
from headrace.store.sql.database import redacted_url

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"


def invoke(*args: str) -> Result:
    return RUNNER.invoke(app, list(args))


@step
def shout() -> int:
    print(f"step output {ESCAPES}")
    raise ValueError(f"bad {ESCAPES} value")


@pipeline(enable_cache=False)
def shouting() -> None:
    shout()


@pytest.fixture
def hostile_run(repo: Path) -> Iterator[str]:
    """A failed run whose error holds escapes, renamed in the database as a foreign or
    older client could have written it."""
    with pytest.raises(RunFailedError) as info:
        shouting()
    run_id = info.value.run.id  # type: ignore[attr-defined]
    with sqlite3.connect(repo / ".headrace" / "headrace.db") as connection:
        connection.execute(
            "UPDATE pipeline_runs SET name = ? WHERE id = ?", (f"run{ESCAPES}", run_id)
        )
        connection.execute(
            "UPDATE step_runs SET name = ? WHERE pipeline_run_id = ?", (f"st{ESCAPES}", run_id)
        )
    yield run_id


def _clean(output: str) -> None:
    for character in "\x1b\x07\x9b":
        assert character not in output
    assert "\\x1b" in output


def test_runs_list_escapes_control_characters(hostile_run: str) -> None:
    result = invoke("pipeline", "runs", "list")
    assert result.exit_code == 0, result.output
    _clean(result.output)


def test_run_show_escapes_names_and_error_messages(hostile_run: str) -> None:
    result = invoke("run", "show", hostile_run)
    assert result.exit_code == 0, result.output
    _clean(result.output)
    assert "bad \\x1b]0;owned" in result.output  # Rich drops the BEL itself


def test_logs_headers_escape_step_names(hostile_run: str) -> None:
    result = invoke("logs", hostile_run)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("==>"))
    _clean(header)


def test_errors_quoting_user_input_are_escaped(repo: Path) -> None:
    result = invoke("run", "show", f"missing{ESCAPES}")
    assert result.exit_code != 0
    _clean(result.output)


def test_snapshot_describe_escapes_its_description(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "flow2.py").write_text(
        textwrap.dedent(
            """
            from headrace import pipeline, step

            @step
            def one() -> int:
                return 1

            @pipeline
            def flow() -> None:
                one()
            """
        )
    )
    monkeypatch.syspath_prepend(str(repo))
    sys.modules.pop("flow2", None)
    created = invoke(
        "pipeline",
        "snapshot",
        "create",
        "flow2.flow",
        "--name",
        "snap",
        "--description",
        f"desc{ESCAPES}",
    )
    assert created.exit_code == 0, created.output
    result = invoke("pipeline", "snapshot", "describe", "snap")
    assert result.exit_code == 0, result.output
    _clean(result.output)
    listing = invoke("pipeline", "snapshot", "list")
    _clean(listing.output)
    sys.modules.pop("flow2", None)


# -- secrets and init ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "two\nlines", "bell\x07", " padded"])
def test_bad_secret_names_are_refused_by_the_cli_and_the_client(repo: Path, name: str) -> None:
    result = invoke("secret", "create", name, "--KEY=value")
    assert result.exit_code != 0
    assert "Secret name" in result.output or "secret name" in result.output.lower()
    with pytest.raises(StoreError, match="Secret name"):
        Client().create_secret(name, {"KEY": "value"})
    assert Client().list_secrets() == []


def test_init_refuses_a_deep_missing_path_unless_parents(tmp_path: Path) -> None:
    deep = tmp_path / "no" / "such" / "deep" / "path"
    result = invoke("init", str(deep))
    assert result.exit_code != 0
    assert "--parents" in result.output
    assert not (tmp_path / "no").exists()
    made = invoke("init", "--parents", str(deep))
    assert made.exit_code == 0, made.output
    assert (deep / ".headrace" / ".gitignore").exists()
    single = invoke("init", str(tmp_path / "fresh"))  # like mkdir: the last part may be new
    assert single.exit_code == 0, single.output


# -- numbers and YAML in configuration files ----------------------------------------------
@step
def scaled(factor: float = 1.0) -> float:
    return factor * 2


@pipeline(enable_cache=False)
def scaling() -> None:
    scaled()


@pytest.mark.parametrize("spelling", [".nan", ".inf", "-.inf", "1.0e+5000"])
def test_non_finite_numbers_in_a_config_file_are_refused(repo: Path, spelling: str) -> None:
    config = repo / "run.yaml"
    config.write_text(f"steps:\n  scaled:\n    parameters:\n      factor: {spelling}\n")
    with pytest.raises(CompilationError, match="'factor'.*non-finite"):
        scaling.with_options(config_path=str(config))()
    with pytest.raises(CompilationError, match="non-finite"):
        scaled.with_options(parameters={"factor": float("nan")})()
    assert Client().list_pipeline_runs(size=1).total == 0


def test_a_string_that_reads_as_infinity_is_refused_before_the_step_runs(repo: Path) -> None:
    config = repo / "run.yaml"
    # YAML 1.1 reads 1e5000 (no dot) as a string; as a float it is infinite.
    config.write_text("steps:\n  scaled:\n    parameters:\n      factor: 1e5000\n")
    with pytest.raises(RunFailedError, match="parameter 'factor': inf holds a non-finite"):
        scaling.with_options(config_path=str(config))()


def test_store_urls_in_messages_have_no_password() -> None:
    assert (
        redacted_url("postgresql://user:s3cret@host:5432/db")
        == "postgresql://user:***@host:5432/db"
    )
    assert redacted_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_yaml_bomb_given_to_the_cli_fails_fast(repo: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
        previous = name
    bomb = repo / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    (repo / "flow3.py").write_text(
        "from headrace import pipeline, step\n\n@step\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef flow() -> None:\n    one()\n"
    )
    sys.path.insert(0, str(repo))
    try:
        assert invoke("pipeline", "snapshot", "create", "flow3.flow", "--name", "s").exit_code == 0
        started = time.perf_counter()
        result = invoke("pipeline", "snapshot", "run", "s", "--config", str(bomb))
        assert time.perf_counter() - started < 5
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("flow3", None)
    assert result.exit_code != 0
    assert "expands to more than" in result.output and str(bomb) in result.output
    assert len(result.output.splitlines()) < 10


def test_run_progress_and_warnings_on_the_terminal_are_escaped(tmp_path: Path) -> None:
    """headrace's own lines (progress, 'Step failed' errors) quote step errors: escaped."""
    import os
    import subprocess

    script = tmp_path / "loud.py"
    script.write_text(
        textwrap.dedent(
            """
            from headrace import pipeline, step

            @step
            def shout() -> int:
                raise ValueError("bad \\x1b]0;owned\\x07\\x1b[2J value")

            @pipeline(enable_cache=False)
            def loud() -> None:
                shout()

            try:
                loud()
            except Exception:
                pass
            """
        )
    )
    subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "init"],
        cwd=tmp_path,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")},
            "PYTHONPATH": os.pathsep.join(sys.path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "bad \\x1b]0;owned" in result.stderr, result.stderr
    for character in "\x1b\x07":
        assert character not in result.stderr
