"""examples/ray_sweep runs as its README says, on a real two-node Ray cluster on
127.0.0.1 (``tests/ray_cluster.py``): one Ray task per candidate, the best one picked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.client import Client
from headrace.store.factory import forget_stores, init_repository
from ray_cluster import RAY_GROUP, RayCluster, driver_environment

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ray_sweep"

pytestmark = [RAY_GROUP]
pytest.importorskip("sklearn", reason="the example needs the demo extra (scikit-learn)")


@pytest.mark.slow
def test_sweep_fans_out_on_ray(
    tmp_path: Path, ray_cluster: RayCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "ray_sweep"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".headrace", "__pycache__"))
    init_repository(project)
    forget_stores()
    env = driver_environment()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, "run.py", "--address", ray_cluster.address]
    done = subprocess.run(
        [*command, "--depths", "2", "6", "--leaves", "1", "4"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"run.py failed:\n{done.stdout}\n{done.stderr}"
    assert "completed: 4 candidates" in done.stdout
    assert "best: {" in done.stdout

    monkeypatch.chdir(project)
    try:
        client = Client()
        assert client.active_stack.name == "ray"
        assert client.active_stack.orchestrator.flavor == "ray"
        run = client.list_pipeline_runs(pipeline_name="sweep")[0]
        evaluated = sorted(name for name in run.steps if name.startswith("evaluate_"))
        assert evaluated == [f"evaluate_{i}" for i in range(4)]
        accuracies = [run.steps[name].outputs["accuracy"][0].load() for name in evaluated]
        best = run.steps["pick_best"].outputs["best"][0].load()
        assert best["accuracy"] == max(accuracies) > 0.8
        # Each evaluate step ran in a Ray worker process, not in the driver.
        logs = client.get_run_logs(run.name)
        driver_pid = f"(pid {os.getpid()})"
        for name in evaluated:
            assert "(pid " in logs[name] and driver_pid not in logs[name], logs[name]
    finally:
        forget_stores()
