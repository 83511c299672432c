"""A laptop's Client, CLI and pipeline runs against a server (``HEADRACE_STORE_URL``):
the run is recorded by the server, its artifacts go to the stack's artifact store."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from server_project import client_environment, create_snapshot_remotely, write_project

from headrace_server import HeadraceServer

RUN_AND_READ = textwrap.dedent(
    """
    from headrace.client import Client
    from run import training_pipeline

    run = training_pipeline()
    print("RUN", run.id, run.status.value, run.outputs["output"].load())
    client = Client()
    fetched = client.get_pipeline_run(run.id)
    print("STORE", type(client.store).__name__, fetched.steps["model_trainer"].output.uri)
    again = client.get_pipeline_run(run.id[:8])
    print("PREFIX", again.name == run.name)
    """
)

TRIGGER = textwrap.dedent(
    """
    from headrace.client import Client

    run = Client().trigger_pipeline(
        snapshot_name_or_id="nightly",
        run_configuration={"steps": {"model_trainer": {"parameters": {"model_type": "tree"}}}},
    ).wait(timeout=180)
    print("TRIGGERED", run.status.value, run.steps["model_trainer"].output.load())
    """
)


def _python(server: HeadraceServer, project: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=client_environment(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr + server.log()
    return result.stdout


def _line(output: str, marker: str) -> list[str]:
    return next(line for line in output.splitlines() if line.startswith(marker)).split()


def test_a_pipeline_run_on_a_client_is_recorded_by_the_server(
    headrace_server: HeadraceServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path)
    out = _python(headrace_server, project, RUN_AND_READ)
    _, run_id, status, value = _line(out, "RUN")
    assert status == "completed" and value == "svm:0.1:19"
    store_line = _line(out, "STORE")
    assert store_line[1] == "RestStore"
    artifacts = (headrace_server.directory / "artifacts").resolve()
    assert Path(store_line[2]).resolve().is_relative_to(artifacts)
    assert "PREFIX True" in out
    run = headrace_server.http.get(f"{headrace_server.url}/api/v1/runs/{run_id}").json()
    assert run["status"] == "completed"
    assert set(run["steps"]) == {"data_loader", "model_trainer"}
    assert not (project / ".headrace").exists()  # nothing was stored on the client


def test_trigger_and_cli_through_the_server(tmp_path: Path, migrated_sqlite: Path) -> None:
    markers = tmp_path / "imported-by"
    markers.mkdir()
    headrace_server = HeadraceServer(
        tmp_path, template=migrated_sqlite, env={"IMPORT_MARKERS": str(markers)}
    )
    try:
        _trigger_and_list(headrace_server, tmp_path)
        runners = {int(marker.name) for marker in markers.iterdir()}
        assert runners, "the run's process imported the pipeline module"
        assert headrace_server.process.pid not in runners  # the server never imports it
    finally:
        headrace_server.stop()


def _trigger_and_list(headrace_server: HeadraceServer, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    create_snapshot_remotely(headrace_server, project, "nightly")
    out = _python(headrace_server, project, TRIGGER)
    assert "TRIGGERED completed tree:0.1:19" in out
    listing = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "pipeline", "snapshot", "list"],
        cwd=project,
        env=client_environment(headrace_server),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    assert "nightly" in listing.stdout
