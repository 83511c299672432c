"""The dashboard in a real browser: Chromium of the distribution driven by Playwright
against a real ``headrace server`` on 127.0.0.1. Every page is saved as a screenshot under
``test-output/dashboard/``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EDITOR, VIEWER, record_run
from headrace_server import ADMIN_PASSWORD, HeadraceServer

RUN_TIMEOUT_MS = 180_000
DAG_BUDGET_MS = 2_000


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Any, server: HeadraceServer, name: str, password: str) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Pipelines").wait_for()


def runs_of(server: HeadraceServer, snapshot: str) -> int:
    found = server.http.get(f"{server.url}/api/v1/pipeline_snapshots/{snapshot}").json()
    page = server.http.get(f"{server.url}/api/v1/runs", params={"snapshot_id": found["id"]})
    return int(page.json()["total"])


def open_snapshot(page: Any, name: str) -> None:
    page.get_by_role("link", name="Snapshots", exact=True).click()
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=re.compile(f"Snapshot {name}")).wait_for()


def test_log_in_change_a_parameter_run_and_watch_it_complete(
    dashboard_server: HeadraceServer, page: Any, screenshots: Path
) -> None:
    server = dashboard_server
    page.goto(f"{server.url}/")
    page.get_by_label("Username").wait_for()
    page.screenshot(path=screenshots / "login.png")
    log_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="training_pipeline", exact=True).wait_for()
    page.screenshot(path=screenshots / "pipelines.png", full_page=True)

    page.get_by_role("link", name="Snapshots", exact=True).click()
    page.get_by_role("link", name="nightly", exact=True).wait_for()
    page.screenshot(path=screenshots / "snapshots.png", full_page=True)
    page.get_by_role("link", name="nightly", exact=True).click()
    rate = page.get_by_label("learning_rate")
    assert rate.input_value() == "0.1"
    # The label shows the type, the hint the default.
    field = page.locator('[data-path="steps.model_trainer.parameters.learning_rate"]')
    assert "number" in field.inner_text() and "default: 0.1" in field.inner_text()
    assert (
        "headrace pipeline snapshot run nightly"
        in page.get_by_label("YAML configuration").input_value()
    )
    rate.fill("0.25")
    page.screenshot(path=screenshots / "snapshot.png", full_page=True)
    page.get_by_role("button", name="Run", exact=True).click()

    page.wait_for_url(re.compile(r"#/runs/"))
    page.locator("#run-status").get_by_text("completed").wait_for(timeout=RUN_TIMEOUT_MS)
    page.locator(".dag-canvas .node.status-completed").first.wait_for()
    assert page.locator(".dag-canvas .node").count() == 5
    page.screenshot(path=screenshots / "run.png", full_page=True)
    page.get_by_role("tab", name="Timeline").click()
    page.locator(".timeline li").first.wait_for()
    page.screenshot(path=screenshots / "run-timeline.png", full_page=True)
    page.get_by_role("tab", name="Graph").click()

    page.locator('.dag-canvas .node[data-id="model_trainer"]').click()
    page.get_by_role("heading", name=re.compile("Step model_trainer")).wait_for()
    preview = page.locator(".artifact").filter(has_text="output")
    preview.get_by_text("lr=0.25").wait_for()
    page.locator("#step-logs").get_by_text("training svm at 0.25").wait_for()
    page.screenshot(path=screenshots / "step.png", full_page=True)

    # A report step's HTML visualization is sandboxed: its script never reaches the page.
    page.go_back()
    page.locator('.dag-canvas .node[data-id="report"]').click()
    page.locator("iframe.visualization").wait_for()
    assert page.locator("iframe.visualization").get_attribute("sandbox") == ""
    assert page.evaluate("window.hacked === undefined")
    page.screenshot(path=screenshots / "step-visualization.png", full_page=True)
    page.go_back()
    page.locator('.dag-canvas .node[data-id="weights"]').click()
    page.get_by_text("array of shape (3, 4), float64").wait_for()
    page.go_back()
    page.locator('.dag-canvas .node[data-id="notes"]').click()
    page.locator(".markdown li strong").wait_for()

    # The pipeline page lists the run, the snapshot and (no) schedules.
    page.get_by_role("link", name="Pipelines", exact=True).click()
    page.get_by_role("link", name="training_pipeline", exact=True).click()
    page.get_by_role("heading", name="Schedules").wait_for()
    page.get_by_text("No schedules").wait_for()
    page.screenshot(path=screenshots / "pipeline.png", full_page=True)


def test_a_wrong_typed_value_is_refused_in_the_browser_and_by_the_server(
    dashboard_server: HeadraceServer, page: Any, screenshots: Path
) -> None:
    server = dashboard_server
    log_in(page, server, *EDITOR)
    open_snapshot(page, "nightly")
    before = runs_of(server, "nightly")
    page.get_by_label("epochs").first.fill("three")
    page.get_by_role("button", name="Run", exact=True).click()
    error = page.locator("#param-steps_model_trainer_parameters_epochs-error")
    error.get_by_text("must be an integer").wait_for()
    assert page.get_by_label("epochs").first.get_attribute("aria-invalid") == "true"
    assert "#/snapshots/" in page.url
    page.screenshot(path=screenshots / "snapshot-refused.png", full_page=True)

    # The server refuses it too (the page's own request, with its cookie and CSRF token).
    answer = page.evaluate(
        """async () => {
            const csrf = document.cookie.split('; ').find(c => c.startsWith('headrace_csrf='))
                .split('=')[1];
            const id = location.hash.split('/')[2];
            const response = await fetch(`/api/v1/pipeline_snapshots/${id}/runs`, {
                method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({steps: {model_trainer: {parameters: {epochs: 'three'}}}}),
            });
            return {status: response.status, body: await response.json()};
        }"""
    )
    assert answer["status"] == 422
    assert any("steps.model_trainer.parameters.epochs" in p for p in answer["body"]["problems"])
    assert runs_of(server, "nightly") == before


def test_a_viewer_sees_no_run_button_and_is_refused_when_posting(
    dashboard_server: HeadraceServer, page: Any, screenshots: Path
) -> None:
    server = dashboard_server
    log_in(page, server, *VIEWER)
    open_snapshot(page, "nightly")
    page.get_by_text("Your role may not run this snapshot.").wait_for()
    assert page.get_by_role("button", name="Run", exact=True).count() == 0
    assert page.get_by_role("link", name="Users").count() == 0
    page.screenshot(path=screenshots / "snapshot-viewer.png", full_page=True)
    before = runs_of(server, "nightly")
    statuses = page.evaluate(
        """async () => {
            const csrf = document.cookie.split('; ').find(c => c.startsWith('headrace_csrf='))
                .split('=')[1];
            const id = location.hash.split('/')[2];
            const post = (headers) => fetch(`/api/v1/pipeline_snapshots/${id}/runs`, {
                method: 'POST', headers: {'Content-Type': 'application/json', ...headers},
                body: '{}'});
            return [(await post({'X-CSRF-Token': csrf})).status, (await post({})).status];
        }"""
    )
    assert statuses == [403, 403]
    assert runs_of(server, "nightly") == before


def test_a_thousand_step_graph_renders_in_under_two_seconds(
    dashboard_server: HeadraceServer, page: Any, screenshots: Path
) -> None:
    server = dashboard_server
    run = record_run(server, "big")
    log_in(page, server, "admin", ADMIN_PASSWORD)
    started = time.perf_counter()
    page.goto(f"{server.url}/#/runs/{run['id']}")
    page.locator('.dag[data-rendered="true"]').wait_for(timeout=30_000)
    wall_ms = (time.perf_counter() - started) * 1000
    render_ms = page.evaluate("performance.getEntriesByName('headrace-dag', 'measure')[0].duration")
    print(f"\n1,000-step graph: drawn in {render_ms:.0f} ms; page to graph {wall_ms:.0f} ms")
    assert render_ms < DAG_BUDGET_MS
    summary = page.locator(".dag-summary")
    assert "1000 steps, 50 layers" in summary.inner_text()
    # Only the part in view is in the document, with readable labels.
    assert 0 < page.locator(".dag-canvas .node").count() < 1000
    assert page.locator(".dag-canvas .node-label").count() > 0
    page.screenshot(path=screenshots / "run-1000-steps.png")

    # Collapse what runs below a step in view, then expand it again.
    toggle = page.evaluate(
        """() => {
            const frame = document.querySelector('.dag-canvas').getBoundingClientRect();
            for (const t of document.querySelectorAll('.dag-canvas .toggle')) {
                const r = t.getBoundingClientRect();
                if (r.left > frame.left && r.right < frame.right && r.top > frame.top
                    && r.bottom < frame.bottom) return t.getAttribute('data-toggle');
            }
            return null;
        }"""
    )
    assert toggle is not None
    page.locator(f'.dag-canvas [data-toggle="{toggle}"]').click()
    page.get_by_text("collapsed out of view").wait_for()
    page.screenshot(path=screenshots / "run-1000-steps-collapsed.png")
    page.get_by_role("button", name="Expand every collapsed step").click()
    assert "collapsed" not in summary.inner_text()

    # Zoom out to the whole graph: every step is drawn (boxes without labels).
    page.get_by_role("button", name="Fit the whole graph").click()
    page.wait_for_function("document.querySelectorAll('.dag-canvas .node').length === 1000")
    page.screenshot(path=screenshots / "run-1000-steps-fit.png")
    page.get_by_role("button", name="Zoom in").click()


def test_admin_pages_service_account_keys_users_and_schedules(
    dashboard_server: HeadraceServer, page: Any, screenshots: Path
) -> None:
    server = dashboard_server
    log_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Schedules", exact=True).click()
    page.get_by_text("No schedules").wait_for()
    page.screenshot(path=screenshots / "schedules.png", full_page=True)

    page.get_by_role("link", name="Service accounts").click()
    page.get_by_label("Service account name").fill("ci-bot")
    page.get_by_role("button", name="Create service account").click()
    page.get_by_label("New API key name for ci-bot").fill("deploy")
    page.get_by_role("button", name="Create API key").click()
    key = page.locator(".api-key").inner_text()
    assert key.startswith("hrk_")
    page.screenshot(path=screenshots / "service-accounts.png", full_page=True)
    # The key works once shown, and stops working once revoked.
    api = f"{server.url}/api/v1/current-user"
    import httpx

    assert httpx.get(api, headers={"X-API-Key": key}).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke API key deploy of ci-bot").click()
    page.get_by_role("cell", name="revoked").wait_for()
    assert httpx.get(api, headers={"X-API-Key": key}).status_code == 401
    assert page.locator(".api-key").count() == 0  # shown once only

    page.get_by_role("link", name="Users").click()
    page.get_by_role("cell", name="vera", exact=True).wait_for()
    page.screenshot(path=screenshots / "users.png", full_page=True)

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").wait_for()
    assert page.evaluate("document.cookie") == ""


def test_pages_fit_a_phone_and_are_keyboard_reachable(
    dashboard_server: HeadraceServer, browser: Any, screenshots: Path
) -> None:
    server = dashboard_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/")
        # Keyboard only: Tab to the fields, type, Enter.
        page.get_by_label("Username").focus()
        page.keyboard.type("admin")
        page.keyboard.press("Tab")
        page.keyboard.type(ADMIN_PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Pipelines").wait_for()
        page.screenshot(path=screenshots / "phone-pipelines.png", full_page=True)
        open_snapshot(page, "nightly")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the snapshot page is {width} px wide on a phone"
        page.screenshot(path=screenshots / "phone-snapshot.png", full_page=True)
        # The Run button is reachable with Tab.
        page.get_by_label("learning_rate").focus()
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "run-button":
                break
        assert page.evaluate("document.activeElement.id") == "run-button"
    finally:
        context.close()
