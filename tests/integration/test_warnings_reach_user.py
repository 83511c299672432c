"""headrace's own warnings and errors reach the user's terminal, and hook problems show
in ``headrace run show`` and ``headrace logs``: real scripts, real processes, real SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from headrace import pipeline, step
    from headrace.hooks import webhook_alerter

    class Opaque:
        def __init__(self, value):
            self.value = value

    def broken_failure_hook(exception):
        raise RuntimeError("the failure hook broke")

    @step
    def make():
        return Opaque(3)

    @step(on_failure=broken_failure_hook)
    def explode(thing) -> int:
        raise ValueError("step error")

    @step(on_success="not_a_module_anywhere.hook")
    def fine() -> int:
        return 1

    ALERT_SUCCESS, _ = webhook_alerter(sys.argv[1])

    @step(on_success=ALERT_SUCCESS)
    def alerted() -> int:
        return 2

    @pipeline(enable_cache=False, on_cleanup="also_missing_module.cleanup")
    def warn_demo() -> None:
        explode(make())
        fine()
        alerted()

    if __name__ == "__main__":
        try:
            warn_demo()
        except Exception as error:
            print("raised", type(error).__name__)
    """
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


@pytest.fixture
def outcome(repo: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    script = repo / "warn_run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), _closed_port_url()],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return repo, result


def _cli(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", *args],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_warnings_and_errors_reach_stderr(
    outcome: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = outcome
    stderr = result.stderr
    assert "raised RunFailedError" in result.stdout
    assert "Warning: No materializer is registered for type __main__.Opaque" in stderr
    assert "cloudpickle" in stderr
    assert (
        "Error: The on_failure hook warn_run.broken_failure_hook of explode raised "
        "RuntimeError: the failure hook broke" in stderr
    )
    assert "on_success hook not_a_module_anywhere.hook of fine raised" in stderr
    assert "on_cleanup hook also_missing_module.cleanup of pipeline 'warn_demo' raised" in stderr
    assert "Warning: Could not post the alert to http://127.0.0.1:" in stderr
    # each message once: the step-log handler does not print a second copy
    assert stderr.count("the failure hook broke") == 1


def test_run_show_and_logs_list_hook_errors(
    outcome: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    repo, _ = outcome
    runs = _cli(repo, "pipeline", "runs", "list")
    run_name = next(word for word in runs.split() if word.startswith("warn_demo-"))
    shown = _cli(repo, "run", "show", run_name)
    assert (
        "hook on_failure (warn_run.broken_failure_hook) raised RuntimeError: the failure hook "
        "broke" in shown
    )
    assert "hook on_success (not_a_module_anywhere.hook) raised" in shown
    assert "hook on_cleanup (also_missing_module.cleanup) raised" in shown
    logs = _cli(repo, "logs", run_name)
    assert "hook on_failure (warn_run.broken_failure_hook) raised RuntimeError" in logs
    assert "==> pipeline hooks" in logs
    assert "hook on_cleanup (also_missing_module.cleanup) raised" in logs
    # the cloudpickle warning is in the log of the step that stored the output
    make_section = logs.split("==> make", 1)[1].split("==> ", 1)[0]
    assert "stored with cloudpickle" in make_section
