"""``headrace logs`` and ``headrace secret ...`` against real runs, a real SQLite store and
real log files.

Commands run in-process through Typer's ``CliRunner`` (the real code, no mocks), and
``logs --step`` once as a real subprocess, to show that its output can be piped. Every
secret test collects all the CLI printed and checks that no secret value is in it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from headrace import pipeline, step
from headrace.cli.main import app
from headrace.client import Client
from headrace.exceptions import EntityNotFoundError, RunFailedError
from headrace.models import PipelineRunResponse

# Rich must see a pipe, not a terminal, whatever the developer's shell exports.
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))

logger = logging.getLogger("user.cli_logs")


def invoke(*args: str, input: str | None = None) -> Result:
    """Run ``headrace ARGS`` in-process."""
    return RUNNER.invoke(app, list(args), input=input)


def subprocess_env() -> dict[str, str]:
    """The test's environment without terminal hints (HEADRACE_* are cleared already)."""
    return {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}


def headrace_script() -> str:
    """The installed ``headrace`` console script next to this interpreter."""
    script = shutil.which("headrace", path=str(Path(sys.executable).parent))
    assert script is not None, "the headrace console script is not installed in this venv"
    return script


# -- logs ---------------------------------------------------------------------------------
@step(enable_cache=False)
def greet(n: int) -> int:
    for i in range(n):
        print(f"greet line {i}")
    logger.warning("greet warns about %d", n)
    return n


@step(enable_cache=False)
def shout(n: int) -> int:
    # Looks like Rich markup: the CLI must print it as it is.
    print(f"[bold]total[/bold] is {n * 2}")
    return n * 2


@step(enable_cache=False, enable_step_logs=False)
def silent(n: int) -> int:
    print("this is not captured")
    return n


@step(enable_cache=False)
def crash(n: int) -> int:
    print(f"crash got {n}")
    raise RuntimeError("crash on purpose")


@pipeline(enable_cache=False)
def chatty(n: int = 3) -> None:
    silent(shout(greet(n)))


@pipeline(enable_cache=False)
def crashing() -> None:
    crash(greet(1))


def sections(output: str) -> list[tuple[list[str], list[str]]]:
    """``(header words, body lines)`` per ``==> step  status`` section of ``logs`` output."""
    found: list[tuple[list[str], list[str]]] = []
    for line in output.splitlines():
        if line.startswith("==> "):
            found.append((line.split()[1:], []))
        else:
            assert found, f"text before the first header: {line!r}"
            found[-1][1].append(line)
    return found


@pytest.fixture
def chatty_run(repo: Path) -> PipelineRunResponse:
    """A completed run of ``chatty``: greet prints and logs, shout prints, silent keeps none."""
    return chatty(n=3)


def test_logs_prints_each_step_under_a_header_in_run_order(
    chatty_run: PipelineRunResponse,
) -> None:
    result = invoke("logs", chatty_run.name)

    assert result.exit_code == 0, result.output
    found = sections(result.stdout)
    assert [header for header, _ in found] == [
        ["greet", "completed"],
        ["shout", "completed"],
        ["silent", "completed"],
    ]
    greet_body, shout_body, silent_body = (body for _, body in found)
    assert greet_body[:3] == ["greet line 0", "greet line 1", "greet line 2"]
    assert greet_body[3].endswith("WARNING user.cli_logs: greet warns about 3")
    assert greet_body[4:] == [""]  # a blank line between sections
    assert shout_body == ["[bold]total[/bold] is 6", ""]
    assert silent_body == ["(no output captured)"]
    assert "this is not captured" not in result.output


def test_logs_of_a_failed_run_show_the_failed_step_and_what_it_printed(repo: Path) -> None:
    with pytest.raises(RunFailedError):
        crashing()
    run = Client().get_pipeline("crashing").last_run

    result = invoke("logs", run.id[:8])  # an id prefix works like the name

    assert result.exit_code == 0, result.output
    found = sections(result.stdout)
    assert [header for header, _ in found] == [["greet", "completed"], ["crash", "failed"]]
    assert found[1][1][0] == "crash got 1"


def test_logs_step_prints_only_that_steps_text_exactly(chatty_run: PipelineRunResponse) -> None:
    shout_text = invoke("logs", chatty_run.name, "--step", "shout")
    assert shout_text.exit_code == 0, shout_text.output
    assert shout_text.stdout == "[bold]total[/bold] is 6\n"
    assert shout_text.stderr == ""

    greet_text = invoke("logs", chatty_run.name, "-s", "greet")
    assert greet_text.stdout == Client().get_run_logs(chatty_run.name, step="greet")["greet"]
    assert greet_text.stdout.startswith("greet line 0\ngreet line 1\ngreet line 2\n")
    assert "==>" not in greet_text.stdout


def test_logs_step_without_output_leaves_stdout_empty(chatty_run: PipelineRunResponse) -> None:
    result = invoke("logs", chatty_run.name, "--step", "silent")

    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "(no output captured)\n"


def test_logs_unknown_step_is_one_line_naming_the_runs_steps(
    chatty_run: PipelineRunResponse,
) -> None:
    result = invoke("logs", chatty_run.name, "--step", "nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: Run {chatty_run.name!r} has no step 'nope' (steps: greet, shout, silent).\n"
    )


def test_logs_unknown_run_is_one_line(repo: Path) -> None:
    result = invoke("logs", "no-such-run")

    assert result.exit_code == 1
    assert result.stderr == "Error: No pipeline run has the name or id 'no-such-run'.\n"


@pipeline(enable_cache=False, secrets=["no_such_secret"])
def needs_a_missing_secret() -> None:
    greet(1)


def test_logs_of_a_run_that_never_started_a_step_say_why(repo: Path) -> None:
    with pytest.raises(RunFailedError):
        needs_a_missing_secret()
    run = Client().get_pipeline("needs_a_missing_secret").last_run

    result = invoke("logs", run.name)

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"Run {run.name!r} has no steps: ")
    assert "no_such_secret" in result.stderr


def test_logs_step_as_subprocess_can_be_piped(chatty_run: PipelineRunResponse, repo: Path) -> None:
    result = subprocess.run(
        [headrace_script(), "logs", chatty_run.name, "--step", "shout"],
        cwd=repo,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "[bold]total[/bold] is 6\n"
    assert result.stderr == ""


# -- secrets ------------------------------------------------------------------------------
SECRET = "cli_credentials"
ACCESS_KEY = "AKIA-s3cr3t-7f1c0de"
PASSWORD = "pa55 w0rd-e9d2"  # with a space: given quoted, as one argument
TOKEN = "tok-91b7-never-print"
NEW_ACCESS_KEY = "AKIA-r0tated-44aa"
ALL_VALUES = (ACCESS_KEY, PASSWORD, TOKEN, NEW_ACCESS_KEY, "w0rd-e9d2", "r0tated")


class Transcript:
    """Every CLI call of a test; checks that none of them printed a secret value."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    def __call__(self, *args: str, input: str | None = None) -> Result:
        result = invoke(*args, input=input)
        self.results.append(result)
        return result

    def assert_no_values_printed(self) -> None:
        assert self.results
        for result in self.results:
            printed = result.output + result.stdout + result.stderr
            leaked = [value for value in ALL_VALUES if value in printed]
            assert not leaked, f"{leaked} printed by {result}:\n{printed}"


@pytest.fixture
def cli(repo: Path) -> Iterator[Transcript]:
    """The CLI, with everything it prints checked for secret values at the end."""
    transcript = Transcript()
    yield transcript
    transcript.assert_no_values_printed()


def create_default(cli: Transcript) -> Result:
    """``secret create`` with the ``--k=v`` and the ``--k v`` forms and mixed-case keys."""
    return cli("secret", "create", SECRET, f"--access_key_id={ACCESS_KEY}", "--Password", PASSWORD)


def test_secret_create_stores_the_values_and_prints_only_keys(cli: Transcript) -> None:
    result = create_default(cli)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Created secret {SECRET!r} with keys: Password, access_key_id.\n"
    assert Client().get_secret(SECRET).secret_values == {
        "access_key_id": ACCESS_KEY,
        "Password": PASSWORD,
    }


def test_secret_list_and_describe_show_keys_never_values(cli: Transcript) -> None:
    create_default(cli)
    cli("secret", "create", "other_secret", f"--token={TOKEN}")
    secret = Client().get_secret(SECRET)

    listed = cli("secret", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == [SECRET, "other_secret"]  # by name
    assert rows[0][1:3] == ["Password,", "access_key_id"]
    assert rows[0][-1] == secret.id[:8]
    assert rows[1][1] == "token"

    described = cli("secret", "describe", SECRET)
    assert described.exit_code == 0, described.output
    details = {
        line.split()[0]: " ".join(line.split()[1:]) for line in described.stdout.splitlines()
    }
    assert details == {
        "secret": SECRET,
        "id": secret.id,
        "created": details["created"],
        "keys": "Password, access_key_id",
        "environment": "PASSWORD, ACCESS_KEY_ID",
    }
    assert cli("secret", "describe", secret.id[:8]).stdout == described.stdout


def test_secret_list_when_there_are_none(cli: Transcript) -> None:
    result = cli("secret", "list")

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No secrets yet" in result.stderr


def test_secret_update_merges_keys_and_replace_drops_the_others(cli: Transcript) -> None:
    create_default(cli)

    merged = cli("secret", "update", SECRET, f"--access_key_id={NEW_ACCESS_KEY}", "--token", TOKEN)
    assert merged.exit_code == 0, merged.output
    assert merged.stdout == (
        f"Updated secret {SECRET!r}: set access_key_id, token. "
        "Keys: Password, access_key_id, token.\n"
    )
    assert Client().get_secret(SECRET).secret_values == {
        "access_key_id": NEW_ACCESS_KEY,
        "Password": PASSWORD,
        "token": TOKEN,
    }

    replaced = cli("secret", "update", SECRET, f"--token={TOKEN}", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout == (
        f"Updated secret {SECRET!r}: set token; removed Password, access_key_id. Keys: token.\n"
    )
    assert Client().get_secret(SECRET).secret_values == {"token": TOKEN}


def test_secret_delete_asks_first_unless_yes(cli: Transcript) -> None:
    create_default(cli)

    declined = cli("secret", "delete", SECRET, input="n\n")
    assert declined.exit_code == 0, declined.output
    assert f"Delete secret {SECRET!r} (keys: Password, access_key_id)? [y/N]" in declined.stdout
    assert declined.stderr == f"Kept secret {SECRET!r}.\n"
    assert Client().get_secret(SECRET).keys == ["Password", "access_key_id"]

    confirmed = cli("secret", "delete", SECRET, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout.endswith(f"Deleted secret {SECRET!r}.\n")
    with pytest.raises(EntityNotFoundError):
        Client().get_secret(SECRET)

    create_default(cli)
    without_prompt = cli("secret", "delete", SECRET, "--yes")
    assert without_prompt.exit_code == 0, without_prompt.output
    assert without_prompt.stdout == f"Deleted secret {SECRET!r}.\n"  # no question asked
    assert Client().list_secrets() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["create", SECRET],
            f"Secret {SECRET!r} needs at least one value: "
            f"headrace secret create {SECRET} --KEY=VALUE [--KEY2=VALUE2 ...]",
            id="create-without-values",
        ),
        pytest.param(
            ["update", SECRET],
            f"Nothing to update in secret {SECRET!r}: "
            f"headrace secret update {SECRET} --KEY=VALUE [--KEY2=VALUE2 ...] [--replace]",
            id="update-without-values",
        ),
        pytest.param(
            # Unquoted, the password's second word is a stray argument; it is not echoed.
            ["create", "second", "--password", *PASSWORD.split()],
            "Unexpected argument after the secret name; "
            "give values as --KEY=VALUE (quote a value that contains spaces).",
            id="stray-word",
        ),
        pytest.param(
            # The name forgotten: Click would take the pair as NAME, which gets printed.
            ["create", f"--token={TOKEN}"],
            "Give the secret name first, then the values: "
            "headrace secret create NAME --KEY=VALUE. "
            "A name cannot start with '-' or contain '='.",
            id="pair-as-name",
        ),
        pytest.param(
            ["update", f"token={TOKEN}"],
            "Give the secret name first, then the values: "
            "headrace secret update NAME --KEY=VALUE. "
            "A name cannot start with '-' or contain '='.",
            id="bare-pair-as-name",
        ),
        pytest.param(
            ["create", "second", "--token"],
            "Key 'token' has no value; write --token=VALUE.",
            id="key-without-value",
        ),
        pytest.param(
            ["create", "second", f"--token={TOKEN}", f"--token={ACCESS_KEY}"],
            "Key 'token' is given more than once.",
            id="duplicate-key",
        ),
        pytest.param(
            ["create", SECRET, f"--token={TOKEN}"],
            f"A secret named {SECRET!r} already exists; update it or delete it first.",
            id="existing-name",
        ),
        pytest.param(
            ["update", "no_such_secret", f"--token={TOKEN}"],
            "No secret has the name or id 'no_such_secret'.",
            id="unknown-secret",
        ),
    ],
)
def test_secret_errors_are_one_line_without_values(
    cli: Transcript, args: list[str], message: str
) -> None:
    create_default(cli)

    result = cli("secret", *args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"
    assert Client().get_secret(SECRET).secret_values["access_key_id"] == ACCESS_KEY  # untouched


def test_secret_error_traceback_with_debug_shows_no_values(cli: Transcript) -> None:
    result = cli("--debug", "secret", "create", SECRET, f"--token={TOKEN}", f"--token={PASSWORD}")

    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.endswith("Error: Key 'token' is given more than once.\n")
    # Tracebacks of bugs go through Typer, which must not print local variables.
    assert app.pretty_exceptions_show_locals is False


@step(enable_cache=False)
def read_environment(name: str) -> str:
    return os.environ[name]


@pipeline(enable_cache=False, secrets=[SECRET])
def uses_secret() -> None:
    read_environment("ACCESS_KEY_ID", id="access_key")
    read_environment("PASSWORD", id="password")


def test_a_pipeline_sees_a_cli_created_secret_as_upper_cased_environment(
    cli: Transcript,
) -> None:
    create_default(cli)

    run = uses_secret()

    assert run.steps["access_key"].output.load() == ACCESS_KEY
    assert run.steps["password"].output.load() == PASSWORD
    assert "ACCESS_KEY_ID" not in os.environ  # set for the run only


def test_help_lists_logs_and_every_secret_command() -> None:
    root = invoke("--help")
    assert root.exit_code == 0
    assert "logs" in root.stdout and "secret" in root.stdout

    secret_help = invoke("secret", "--help")
    for command in ("create", "list", "describe", "update", "delete"):
        assert command in secret_help.stdout
