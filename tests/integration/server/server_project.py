"""A user's project for the server tests, and how to make a snapshot of it remotely."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from headrace_server import HeadraceServer

SOURCES = str(Path(__file__).resolve().parents[3] / "src")

TRAINING = textwrap.dedent(
    '''
    """The seed's training pipeline: a data loader and a model trainer."""

    import os

    from headrace import pipeline, step

    # Which processes import this module (tests check the server never does).
    if os.environ.get("IMPORT_MARKERS"):
        open(os.path.join(os.environ["IMPORT_MARKERS"], str(os.getpid())), "w").close()


    @step
    def data_loader(data_path: str = "s3://old-data/") -> list[int]:
        """Load the data."""
        return [len(data_path), 2, 3]


    @step
    def model_trainer(data: list[int], model_type: str = "svm", learning_rate: float = 0.1) -> str:
        """Train a model."""
        return f"{model_type}:{learning_rate}:{sum(data)}"


    @pipeline
    def training_pipeline() -> str:
        return model_trainer(data_loader())


    @step
    def link(value: int) -> int:
        return value + 1


    @pipeline
    def chain(length: int = 100) -> int:
        value = link(0)
        for _ in range(length - 1):
            value = link(value)
        return value
    '''
)


def write_project(directory: Path) -> Path:
    """The project with its ``run.py``; the directory the client runs in."""
    project = directory / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "run.py").write_text(TRAINING)
    return project


# A test runner's terminal settings would make the CLI wrap its tables.
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def client_environment(server: HeadraceServer, **extra: str) -> dict[str, str]:
    """The environment of a client process that talks to ``server``."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEADRACE_") and k not in _TERMINAL_VARIABLES
    }
    environment["PYTHONPATH"] = SOURCES
    environment["HEADRACE_STORE_URL"] = server.url
    environment["HEADRACE_STORE_API_TOKEN"] = server.token()  # the admin's
    environment.update(extra)
    return environment


def create_snapshot_remotely(server: HeadraceServer, project: Path, name: str) -> str:
    """``headrace pipeline snapshot create`` in the project, against the server."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headrace.cli.main",
            "pipeline",
            "snapshot",
            "create",
            "run.training_pipeline",
            "--name",
            name,
        ],
        cwd=project,
        env=client_environment(server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
