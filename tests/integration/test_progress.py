"""Run progress on the terminal, as a user sees it: real scripts in real processes, piped
and on a pseudo-terminal, with a real SQLite repository."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from headrace import pipeline, step

    @step
    def load(n: int) -> list[int]:
        print("loading", n)
        return list(range(n))

    @step
    def total(xs: list[int]) -> int:
        time.sleep(0.3)
        return sum(xs)

    @step
    def explode(xs: list[int]) -> int:
        raise ValueError("boom in explode\\nsecond line of the message")

    @step
    def after(x: int) -> int:
        return x

    @pipeline
    def progress_demo(n: int = 3, fail: bool = False) -> None:
        xs = load(n)
        total(xs)
        if fail:
            after(explode(xs))

    if __name__ == "__main__":
        try:
            progress_demo(fail="fail" in sys.argv)
        except Exception as error:
            print("raised", type(error).__name__)
    """
)

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@pytest.fixture
def script(repo: Path) -> Path:
    path = repo / "progress_run.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env.update(extra)
    return env


def _run(script: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_piped_run_prints_plain_lines_for_the_run_and_each_step(script: Path) -> None:
    result = _run(script)
    lines = result.stderr.splitlines()
    assert re.fullmatch(
        r"Running pipeline 'progress_demo' as run '(progress_demo-[\w-]+)' on stack "
        r"'default' \(2 steps\)\.",
        lines[0],
    ), lines
    run_name = re.search(r"as run '([^']+)'", lines[0]).group(1)  # type: ignore[union-attr]
    assert "Step 'load' started." in lines
    assert any(re.fullmatch(r"Step 'load' completed in \d\.\d{3}s\.", line) for line in lines)
    assert any(re.fullmatch(r"Step 'total' completed in 0\.\d{3}s\.", line) for line in lines)
    assert re.fullmatch(
        rf"Run '{run_name}' completed in [\d.]+s \(2 completed\)\. "
        rf"Inspect it: headrace run show {run_name}",
        lines[-1],
    ), lines[-1]
    # What a step prints still streams through, on its own stream and in order.
    assert result.stdout.splitlines()[0] == "loading 3"
    assert "\x1b[" not in result.stderr  # no colour codes in a pipe


def test_a_cached_rerun_says_cached(script: Path) -> None:
    _run(script)
    lines = _run(script).stderr.splitlines()
    assert "Step 'load' cached: reused the outputs of an earlier run." in lines
    assert "Step 'total' cached: reused the outputs of an earlier run." in lines
    assert "(2 cached)" in lines[-1]


def test_failed_and_skipped_steps_name_the_error_first_line(script: Path) -> None:
    result = _run(script, "fail")
    lines = result.stderr.splitlines()
    assert any(
        re.fullmatch(r"Step 'explode' failed after \d\.\d{3}s: ValueError: boom in explode", line)
        for line in lines
    ), lines
    assert "Step 'after' skipped: upstream step(s) explode did not succeed" in lines
    assert "second line of the message" not in result.stderr  # only the first line
    assert re.search(
        r"Run '[^']+' failed in [\d.]+s \(2 completed, 1 failed, 1 skipped; failed: explode\)\. "
        r"Inspect it: headrace run show ",
        lines[-1],
    ), lines[-1]
    assert sum("explode" in line and "failed" in line for line in lines[:-1]) == 1  # once


@pytest.mark.parametrize(
    ("verbosity", "shown", "hidden"),
    [
        ("WARN", ["Step 'explode' failed", "Step 'after' skipped", "Run '"], ["started"]),
        ("ERROR", ["Step 'explode' failed", "Run '"], ["Step 'after'", "Step 'load'"]),
        ("CRITICAL", [], ["Step", "Run '"]),
        ("DEBUG", ["Step 'load' started (step run ", "Run '"], []),
    ],
)
def test_verbosity_sets_how_much_is_shown(
    script: Path, verbosity: str, shown: list[str], hidden: list[str]
) -> None:
    stderr = _run(script, "fail", HEADRACE_LOGGING_VERBOSITY=verbosity).stderr
    for text in shown:
        assert text in stderr, (verbosity, text, stderr)
    for text in hidden:
        assert text not in stderr, (verbosity, text, stderr)


def test_an_unknown_verbosity_is_named_and_info_is_used(script: Path) -> None:
    stderr = _run(script, HEADRACE_LOGGING_VERBOSITY="LOUD").stderr
    assert "HEADRACE_LOGGING_VERBOSITY='LOUD' is not a level" in stderr
    assert "DEBUG, INFO, WARN, ERROR, CRITICAL" in stderr
    assert "Step 'load' started." in stderr


def _run_on_terminal(script: Path, *args: str) -> str:
    """Run ``script`` with stdout and stderr on a pseudo-terminal; returns what it showed."""
    leader, follower = pty.openpty()
    env = _env(COLUMNS="200", TERM="xterm")
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_the_progress_is_live_and_coloured(script: Path) -> None:
    shown = _run_on_terminal(script, "fail")
    assert "\x1b[" in shown  # colour and cursor control: a live display
    assert "steps finished" in shown  # the live region under the lines
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "Running pipeline 'progress_demo'" in plain
    assert "Step 'explode' failed" in plain
    assert "loading 3" in plain  # step output streams through above the live region
    assert "raised RunFailedError" in plain


def test_step_output_under_a_live_display_is_still_kept_in_the_step_log(script: Path) -> None:
    _run_on_terminal(script)
    result = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "pipeline", "runs", "list"],
        cwd=script.parent,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    run_name = result.stdout.split("progress_demo-", 1)[1].split()[0]
    logs = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "logs", f"progress_demo-{run_name}"],
        cwd=script.parent,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "loading 3" in logs.stdout
    assert "Step 'load'" not in logs.stdout  # progress lines are not part of a step's log
