"""Run a ZenML-style project of ``tests/compat/projects`` the way its user would.

The project is copied into a fresh directory that ``headrace init`` made a repository,
and its ``run.py`` runs in a child process, so nothing of the test process (imports,
logging set-up, the active store) helps it along.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECTS = Path(__file__).parent / "projects"
SOURCES = Path(__file__).resolve().parents[2] / "src"


def copy_project(name: str, destination: Path) -> Path:
    """Copy project ``name`` into ``destination`` (already a headrace repository)."""
    shutil.copytree(PROJECTS / name, destination, dirs_exist_ok=True)
    return destination


def _run(directory: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCES), str(directory)])
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=directory,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"python {' '.join(argv)} failed ({result.returncode}):\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def run_project(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python run.py ARGS`` in ``directory``; fails the test with its output if it fails."""
    return _run(directory, ["run.py", *args])


def run_cli(directory: Path, *args: str) -> str:
    """``headrace ARGS`` in ``directory``; returns its standard output."""
    return _run(directory, ["-c", "from headrace.cli.main import main; main()", *args]).stdout
