"""Fixtures of the dashboard tests: one server with the project's snapshots for the
module, and Chromium from the distribution (``/usr/bin/chromium``) driven by Playwright."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_project import create_snapshot, write_project

from headrace_server import HeadraceServer

CHROMIUM = "/usr/bin/chromium"  # the distribution's package; never a downloaded browser
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "dashboard"
VIEWER = ("vera", "vera-viewer-password-1")
EDITOR = ("eddie", "eddie-editor-password-1")


@pytest.fixture(scope="module")
def dashboard_server(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[HeadraceServer]:
    """A server holding snapshot ``nightly`` (training pipeline), ``big`` (1,000 steps),
    ``talker`` (a step that prints, then sleeps), a viewer and an editor."""
    directory = tmp_path_factory.mktemp("dashboard")
    server = HeadraceServer(directory, template=migrated_sqlite)
    try:
        project = write_project(directory)
        create_snapshot(server, project, "training_pipeline", "nightly")
        create_snapshot(server, project, "grid", "big")
        create_snapshot(server, project, "talker", "talker")
        for (name, password), role in ((VIEWER, "viewer"), (EDITOR, "editor")):
            answer = server.http.post(
                f"{server.url}/api/v1/users",
                json={"name": name, "password": password, "role": role},
            )
            assert answer.status_code == 201, answer.text
        yield server
    finally:
        server.stop()


def record_run(server: HeadraceServer, snapshot: str) -> dict[str, Any]:
    """A run of ``snapshot`` recorded (not executed) through the REST API."""
    found = server.http.get(f"{server.url}/api/v1/pipeline_snapshots/{snapshot}").json()
    answer = server.http.post(
        f"{server.url}/api/v1/runs",
        json={
            "id": str(uuid.uuid4()),
            "name": f"{snapshot}-recorded-{uuid.uuid4().hex[:6]}",
            "pipeline_id": found["pipeline_id"],
            "snapshot_id": found["id"],
            "stack_id": found["stack_id"],
            "status": "running",
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium of the distribution, headless (never a downloaded browser)."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots() -> Path:
    """Where the tests save a screenshot of every page (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
