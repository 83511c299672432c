"""examples/inference_endpoint runs as its README says: a local deployer in the stack,
then train, snapshot, deploy, invoke over HTTP on 127.0.0.1, deprovision, delete."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.client import Client
from headrace.deployments import list_deployments
from headrace.store.factory import forget_stores, init_repository

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "inference_endpoint"

pytest.importorskip("sklearn", reason="the example needs the demo extra (scikit-learn)")


def _run(project: Path, *command: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEADRACE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        list(command), cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _prediction(out: str, label: str) -> dict[str, object]:
    line = next(line for line in out.splitlines() if line.startswith(f"{label}: "))
    return json.loads(line.split(": ", 1)[1])


@pytest.mark.slow
def test_train_deploy_invoke_and_take_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "inference_endpoint"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".headrace", "__pycache__"))
    init_repository(project)
    forget_stores()
    headrace = [sys.executable, "-m", "headrace.cli.main"]
    _run(project, *headrace, "deployer", "register", "here", "--flavor=local")
    _run(
        project,
        *headrace,
        "stack",
        "register",
        "serving",
        "-o",
        "default",
        "-a",
        "default",
        "-D",
        "here",
        "--set",
    )

    out = _run(project, sys.executable, "run.py")
    assert "deployment iris serves snapshot iris-classifier at http://127.0.0.1:" in out
    small = _prediction(out, "small petals")
    assert small["species"] == "setosa" and small["classifier_version"] == "1"
    assert _prediction(out, "long petals")["species"] == "virginica"
    assert "a wrong type is refused: 422" in out and "petal_length" in out
    assert "a request without the key is refused: 401" in out
    assert "deployment iris is stopped" in out and "deployment iris deleted" in out

    monkeypatch.chdir(project)
    try:
        client = Client()
        assert list_deployments() == []
        # Both invocations were tracked runs of the served pipeline, with its output.
        served = client.list_pipeline_runs(pipeline_name="classify_flower")
        assert len(served) == 2
        assert {run.outputs["prediction"].load()["species"] for run in served} == {
            "setosa",
            "virginica",
        }
        training = client.list_pipeline_runs(pipeline_name="training")[0]
        assert training.steps["train_classifier"].run_metadata["cv_accuracy"] > 0.9
    finally:
        forget_stores()
