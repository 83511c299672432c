"""Seed 000's REST calls, run verbatim with the real ``curl`` against a started server:
find the pipeline, find its snapshot, trigger a run with new step parameters.

The placeholders of the seed (``<YOUR_ZENML_SERVER_URL>``, ``<PIPELINE-NAME>``, ...)
are the only text replaced; everything else of each command is the seed's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from server_project import create_snapshot_remotely, write_project

from headrace_server import HeadraceServer

SEED = Path("/work/shared/seeds/000_5063e02d55fb7ff1.txt")
SEED_FALLBACK = Path(__file__).with_name("seed_000_curl.txt")
RUN_TIMEOUT = 180


def seed_curl_commands() -> list[str]:
    """The ``curl`` commands of the seed's "Using the REST API" section, in order."""
    text = SEED.read_text() if SEED.exists() else SEED_FALLBACK.read_text()
    lines = text[text.index("Using the REST API") :].splitlines()
    commands: list[str] = []
    current: list[str] | None = None
    for line in lines:
        if current is None and line.startswith("curl -X '"):
            current = []
        if current is None:
            continue
        current.append(line)
        joined = "\n".join(current)
        # A command ends at a line without a continuation, outside any quoted text.
        if not line.endswith("\\") and joined.count("'") % 2 == 0:
            commands.append(joined)
            current = None
    assert len(commands) == 3, commands
    return commands


def run_curl(command: str, values: dict[str, str]) -> dict[str, Any]:
    """Run one seed command through the shell with its placeholders filled in."""
    for placeholder, value in values.items():
        command = command.replace(placeholder, value)
    assert "<" not in command.replace("<<", ""), command
    result = subprocess.run(
        ["bash", "-c", command.replace("curl -X", "curl -sS -w '\\n%{http_code}' -X", 1)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return {"status": int(status), "body": json.loads(body)}


def wait_for_run(server: HeadraceServer, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = server.http.get(f"{server.url}/api/v1/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish:\n{server.log()}")


@pytest.mark.skipif(shutil.which("curl") is None, reason="the seed's commands need curl")
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_seed_000_curl_commands_find_and_trigger_a_snapshot(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    server = HeadraceServer(tmp_path, database_url=url)
    try:
        project = write_project(tmp_path)
        create_snapshot_remotely(server, project, "nightly")
        first, second, trigger = seed_curl_commands()
        values = {
            "<YOUR_ZENML_SERVER_URL>": server.url,
            "<PIPELINE-NAME>": "training_pipeline",
            "<YOUR-TOKEN>": server.token(),  # the admin's, from POST /api/v1/login
        }

        pipelines = run_curl(first, values)
        assert pipelines["status"] == 200
        assert [p["name"] for p in pipelines["body"]["items"]] == ["training_pipeline"]
        values["<PIPELINE-ID>"] = pipelines["body"]["items"][0]["id"]

        snapshots = run_curl(second, values)
        assert snapshots["status"] == 200
        page = snapshots["body"]
        assert (page["index"], page["max_size"], page["total"]) == (1, 20, 1)
        assert page["items"][0]["name"] == "nightly"
        values["<SNAPSHOT-ID>"] = page["items"][0]["id"]

        started = run_curl(trigger, values)
        assert started["status"] == 201, started
        assert started["body"]["snapshot_id"] == values["<SNAPSHOT-ID>"]

        run = wait_for_run(server, started["body"]["id"])
        assert run["status"] == "completed", server.log()
        assert run["steps"]["model_trainer"]["parameters"]["model_type"] == "rf"
    finally:
        server.stop()


def test_the_hyphenated_path_and_the_wrapped_body_trigger_too(
    headrace_server: HeadraceServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path)
    create_snapshot_remotely(headrace_server, project, "nightly")
    snapshot = headrace_server.http.get(
        f"{headrace_server.url}/api/v1/pipeline_snapshots/nightly"
    ).json()
    body = {
        "run_configuration": {"steps": {"data_loader": {"parameters": {"data_path": "s3://x/"}}}},
        "step_run": None,
    }
    answer = headrace_server.http.post(
        f"{headrace_server.url}/api/v1/pipeline-snapshots/{snapshot['id']}/runs", json=body
    )
    assert answer.status_code == 201, answer.text
    run = wait_for_run(headrace_server, answer.json()["id"])
    assert run["status"] == "completed"
    assert run["steps"]["data_loader"]["parameters"]["data_path"] == "s3://x/"


def test_a_bad_configuration_is_422_with_every_problem_and_creates_nothing(
    headrace_server: HeadraceServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path)
    create_snapshot_remotely(headrace_server, project, "nightly")
    base = f"{headrace_server.url}/api/v1"
    body = {
        "steps": {
            "model_trainer": {"parameters": {"learning_rate": "fast", "epochs": 3}},
            "no_such_step": {"parameters": {}},
        }
    }
    answer = headrace_server.http.post(f"{base}/pipeline_snapshots/nightly/runs", json=body)
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert len(problems) >= 3, problems
    text = " ".join(problems)
    assert "learning_rate" in text and "epochs" in text and "no_such_step" in text
    assert headrace_server.http.get(f"{base}/runs").json()["total"] == 0
