"""Seed 000's "who can run specific snapshots", on a real server: an admin limits a
snapshot to named users (with the CLI, through the server), and every way of running it
refuses everyone else: the REST trigger (both spellings), the Client and the CLI through
the server, and recording a client-side run of it. Replacing or deleting it, or changing
who may run it, is refused as well; the named user's run completes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from server_project import client_environment, create_snapshot_remotely, write_project

from headrace_server import HeadraceServer

RUN_TIMEOUT = 180
PASSWORDS = {"alice": "alice password", "bob": "bob password", "vera": "vera password"}


def _cli(
    server: HeadraceServer, project: Path, token: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", *args],
        cwd=project,
        env=client_environment(server, HEADRACE_STORE_API_TOKEN=token),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _as(server: HeadraceServer, name: str) -> dict[str, str]:
    return server.headers(name, PASSWORDS[name])


def _wait(server: HeadraceServer, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = server.http.get(f"{server.url}/api/v1/runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish:\n{server.log()}")


def test_a_snapshot_limited_to_named_users_is_refused_to_everyone_else(
    headrace_server: HeadraceServer, tmp_path: Path
) -> None:
    server = headrace_server
    api = f"{server.url}/api/v1"
    project = write_project(tmp_path)
    create_snapshot_remotely(server, project, "nightly")
    for name, role in (("alice", "editor"), ("bob", "editor"), ("vera", "viewer")):
        server.http.post(
            f"{api}/users", json={"name": name, "role": role, "password": PASSWORDS[name]}
        ).raise_for_status()

    limited = _cli(
        server,
        project,
        server.token(),
        "pipeline",
        "snapshot",
        "access",
        "nightly",
        "--user",
        "alice",
    )
    assert limited.returncode == 0, limited.stdout + limited.stderr
    assert "Only user alice (and admins) may run it." in limited.stdout
    snapshot = httpx.get(f"{api}/pipeline_snapshots/nightly", headers=_as(server, "vera")).json()
    assert (snapshot["allowed_users"], snapshot["allowed_roles"]) == (["alice"], [])

    body = {"steps": {"model_trainer": {"parameters": {"model_type": "rf"}}}}
    for path in ("pipeline_snapshots", "pipeline-snapshots"):
        refused = httpx.post(
            f"{api}/{path}/{snapshot['id']}/runs", json=body, headers=_as(server, "bob")
        )
        assert refused.status_code == 403, refused.text
        assert "may be run only by user 'alice' (and admins)" in refused.json()["detail"]
    viewer = httpx.post(
        f"{api}/pipeline_snapshots/nightly/runs", json=body, headers=_as(server, "vera")
    )
    assert viewer.status_code == 403

    bob = server.token("bob", PASSWORDS["bob"])
    by_cli = _cli(server, project, bob, "pipeline", "snapshot", "run", "nightly")
    assert by_cli.returncode == 1
    assert "Error: User 'bob' (editor) may not run snapshot 'nightly'" in by_cli.stderr
    by_client = subprocess.run(
        [
            sys.executable,
            "-c",
            "from headrace.client import Client\n"
            "from headrace.exceptions import PermissionDeniedError\n"
            "try:\n"
            "    Client().trigger_pipeline(snapshot_name_or_id='nightly')\n"
            "except PermissionDeniedError as error:\n"
            "    print('REFUSED', error)\n",
        ],
        cwd=project,
        env=client_environment(server, HEADRACE_STORE_API_TOKEN=bob),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert by_client.returncode == 0, by_client.stderr
    assert "REFUSED User 'bob' (editor) may not run snapshot 'nightly'" in by_client.stdout

    stack = server.http.get(f"{api}/stacks/default").json()
    record = {
        "id": "00000000-0000-4000-8000-000000000001",
        "name": "bob-side-run",
        "pipeline_id": snapshot["pipeline_id"],
        "snapshot_id": snapshot["id"],
        "stack_id": stack["id"],
    }
    assert httpx.post(f"{api}/runs", json=record, headers=_as(server, "bob")).status_code == 403
    assert (
        httpx.delete(f"{api}/pipeline_snapshots/nightly", headers=_as(server, "bob")).status_code
        == 403
    )
    opened = httpx.put(
        f"{api}/pipeline_snapshots/nightly/access",
        json={"allowed_users": []},
        headers=_as(server, "alice"),
    )
    assert opened.status_code == 403 and "needs the admin role" in opened.json()["detail"]
    assert server.http.get(f"{api}/runs").json()["total"] == 0  # nothing ran, nothing recorded

    started = httpx.post(
        f"{api}/pipeline_snapshots/nightly/runs", json=body, headers=_as(server, "alice")
    )
    assert started.status_code == 201, started.text
    run = _wait(server, started.json()["id"])
    assert run["status"] == "completed", server.log()
    assert run["steps"]["model_trainer"]["parameters"]["model_type"] == "rf"

    by_role = server.http.put(
        f"{api}/pipeline_snapshots/nightly/access",
        json={"allowed_users": [], "allowed_roles": ["editor"]},
    )
    assert by_role.status_code == 200 and by_role.json()["allowed_roles"] == ["editor"]
    again = httpx.post(
        f"{api}/pipeline_snapshots/nightly/runs", json=body, headers=_as(server, "bob")
    )
    assert again.status_code == 201, again.text
    _wait(server, again.json()["id"])
