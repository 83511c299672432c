"""examples/rest_trigger runs as its README says, against a real server on 127.0.0.1:
a service account's key, the snapshot, a trigger over REST, the report read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from headrace.store.factory import forget_stores, init_repository
from headrace_server import HeadraceServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rest_trigger"


def _run(project: Path, env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        list(command), cwd=project, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_trigger_the_report_over_rest(tmp_path: Path, migrated_sqlite: Path) -> None:
    project = tmp_path / "rest_trigger"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".headrace", "__pycache__"))
    init_repository(project)
    forget_stores()
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    server = HeadraceServer(server_dir, template=migrated_sqlite)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])
        )
        env["HEADRACE_STORE_URL"] = server.url
        env["HEADRACE_STORE_API_TOKEN"] = server.token()
        headrace = [sys.executable, "-m", "headrace.cli.main"]
        _run(project, env, *headrace, "service-account", "create", "reporter", "--role", "editor")
        key = _run(
            project, env, *headrace, "service-account", "api-key", "reporter", "create", "trigger"
        ).strip()
        assert key.startswith("hrk_")
        assert "is ready to trigger" in _run(project, env, sys.executable, "snapshot.py")

        # trigger.py needs no credentials but the key, and no headrace at all.
        plain = {k: v for k, v in env.items() if not k.startswith("HEADRACE_")}
        out = _run(
            project,
            plain,
            sys.executable,
            "trigger.py",
            "--url",
            server.url,
            "--api-key",
            key,
            "--region",
            "north",
            "--large-order",
            "150",
        )
        assert "completed" in out
        report = json.loads(out.split("report: ", 1)[1])
        assert report["orders"] == 54.0 and report["large_orders"] == 6.0
        assert report["revenue"] > 0 and 0 <= report["return_rate"] < 1

        failed = subprocess.run(
            [
                sys.executable,
                "trigger.py",
                "--url",
                server.url,
                "--api-key",
                key,
                "--region",
                "middle",
            ],
            cwd=project,
            env=plain,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert failed.returncode == 1
        assert "step load_orders failed: region 'middle' has no orders" in failed.stdout

        # The README's curl: a parameter of the wrong type is refused, nothing recorded.
        headers = {"X-API-Key": key}
        before = httpx.get(f"{server.url}/api/v1/runs", headers=headers).json()["total"]
        refused = httpx.post(
            f"{server.url}/api/v1/pipeline_snapshots/daily_report/runs",
            headers=headers,
            json={"parameters": {"large_order": "lots"}},
        )
        assert refused.status_code == 422, refused.text
        assert "large_order" in refused.text
        assert httpx.get(f"{server.url}/api/v1/runs", headers=headers).json()["total"] == before
    finally:
        server.stop()
        forget_stores()


@pytest.mark.slow
def test_a_schedule_on_the_server_runs_the_report(tmp_path: Path, migrated_sqlite: Path) -> None:
    project = tmp_path / "rest_trigger"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".headrace", "__pycache__"))
    init_repository(project)
    forget_stores()
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    # The scheduler looks for due schedules every 0.2 s instead of every few seconds.
    server = HeadraceServer(
        server_dir,
        template=migrated_sqlite,
        env={"HEADRACE_SERVER_SCHEDULER_POLL_SECONDS": "0.2"},
    )
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])
        )
        env["HEADRACE_STORE_URL"] = server.url
        env["HEADRACE_STORE_API_TOKEN"] = server.token()
        out = _run(project, env, sys.executable, "schedule.py", "--every", "2", "--region", "north")
        assert "schedule report-every-few-seconds runs snapshot" in out
        assert "the scheduler ran daily_report-" in out and ": completed" in out
        report = json.loads(out.split("report: ", 1)[1].splitlines()[0])
        assert report["orders"] == 54.0
        assert "paused (active: False)" in out
        assert "schedule report-every-few-seconds deleted" in out

        headers = {"Authorization": f"Bearer {server.token()}"}
        schedules = httpx.get(f"{server.url}/api/v1/schedules", headers=headers).json()
        assert schedules["total"] == 0
        # The runs the schedule made stay (one may have been fired just before the pause).
        runs = httpx.get(f"{server.url}/api/v1/runs", headers=headers).json()["items"]
        assert any(run["status"] == "completed" for run in runs)
        assert not any(run["status"] == "failed" for run in runs)
    finally:
        server.stop()
        forget_stores()
