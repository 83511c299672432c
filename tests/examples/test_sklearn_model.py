"""examples/sklearn_model runs as its README says: train, promote, keep, predict."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.client import Client
from headrace.store.factory import forget_stores, init_repository

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sklearn_model"

pytest.importorskip("sklearn", reason="the example needs the demo extra (scikit-learn)")


def _python(project: Path, *args: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEADRACE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"run.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_train_promote_and_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "sklearn_model"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".headrace", "__pycache__"))
    init_repository(project)
    forget_stores()

    first = _python(project)
    assert "promoted version 1 to production" in first
    assert "version 1 flagged" in first and "of 50 rows as malignant" in first

    second = _python(project, "train", "--regularization", "0.001")
    assert "kept version 1 in production" in second

    monkeypatch.chdir(project)
    try:
        client = Client()
        production = client.get_model_version("cancer_classifier", "production")
        assert production.number == 1
        assert production.run_metadata["f1"] > 0.9
        latest = client.get_model_version("cancer_classifier")
        assert latest.number == 2 and latest.run_metadata["f1"] < production.run_metadata["f1"]
        inference = client.list_pipeline_runs(tags=["inference"])[0]
        predictions = inference.outputs["predictions"].load()
        assert list(predictions.columns) == ["row", "malignant", "probability_malignant"]
        assert len(predictions) == 50
    finally:
        forget_stores()
