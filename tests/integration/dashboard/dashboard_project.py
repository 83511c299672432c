"""A user's project for the dashboard tests, and how to make snapshots of it remotely."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from headrace_server import HeadraceServer

SOURCES = str(Path(__file__).resolve().parents[3] / "src")

PROJECT = textwrap.dedent(
    '''
    """The seed's training pipeline, a report with visualizations, and a big grid."""

    import numpy as np

    from headrace import pipeline, step
    from headrace.types import HTMLString, MarkdownString


    @step
    def data_loader(data_path: str = "s3://old-data/") -> list[int]:
        """Load the data.

        Args:
            data_path: where the training data lies.
        """
        print(f"loading {data_path}")
        return [len(data_path), 2, 3]


    @step
    def model_trainer(
        data: list[int], model_type: str = "svm", learning_rate: float = 0.1, epochs: int = 3
    ) -> str:
        """Train a model.

        Args:
            model_type: which estimator to fit.
            learning_rate: the step size.
            epochs: passes over the data.
        """
        print(f"training {model_type} at {learning_rate} for {epochs} epochs")
        return f"model={model_type} lr={learning_rate} epochs={epochs} sum={sum(data)}"


    @step
    def report(model: str) -> HTMLString:
        """An HTML report of the model."""
        return HTMLString(f"<h1>Report</h1><p>{model}</p><script>parent.hacked = 1</script>")


    @step
    def notes(model: str) -> MarkdownString:
        """Markdown notes on the model."""
        return MarkdownString(f"# Notes\\n\\n- trained: **{model}**\\n")


    @step
    def weights(epochs: int = 3) -> np.ndarray:
        """Some weights."""
        return np.arange(epochs * 4, dtype="float64").reshape(epochs, 4)


    @pipeline
    def training_pipeline() -> str:
        model = model_trainer(data_loader())
        report(model)
        notes(model)
        weights()
        return model


    @step
    def slow_talker(seconds: float = 8.0) -> int:
        """Print, then take a while."""
        import time

        print("halfway there", flush=True)
        time.sleep(seconds)
        print("done")
        return 1


    @pipeline
    def talker() -> None:
        slow_talker()


    @step
    def cell(a: int, b: int) -> int:
        return a + b


    @step
    def seed_value(value: int = 1) -> int:
        return value


    @pipeline
    def grid(width: int = 20, depth: int = 50) -> None:
        """A wide and deep graph: each cell takes two cells of the layer before."""
        layer = [seed_value(value=i) for i in range(width)]
        for _ in range(depth - 1):
            layer = [cell(layer[i], layer[(i * 7 + 3) % width]) for i in range(width)]
    '''
)


def write_project(directory: Path) -> Path:
    """The project with its ``run.py``; the directory the client runs in."""
    project = directory / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "run.py").write_text(PROJECT)
    return project


def client_environment(server: HeadraceServer) -> dict[str, str]:
    """The environment of a client process that talks to ``server`` as its admin."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    environment["PYTHONPATH"] = SOURCES
    environment["HEADRACE_STORE_URL"] = server.url
    environment["HEADRACE_STORE_API_TOKEN"] = server.token()
    return environment


def create_snapshot(server: HeadraceServer, project: Path, pipeline: str, name: str) -> None:
    """``headrace pipeline snapshot create run.PIPELINE --name NAME`` against the server."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "headrace.cli.main",
            "pipeline",
            "snapshot",
            "create",
            f"run.{pipeline}",
            "--name",
            name,
        ],
        cwd=project,
        env=client_environment(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
