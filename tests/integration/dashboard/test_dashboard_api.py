"""The server side of the dashboard over HTTP: the page and its files, cookie sessions
with CSRF, the Run form's data, previews and visualizations (read without unpickling
anything), and "New snapshot" of a run. A real server on 127.0.0.1, real requests."""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import EDITOR, VIEWER, record_run
from headrace_server import ADMIN_PASSWORD, HeadraceServer

RUN_TIMEOUT = 180


@contextmanager
def session(server: HeadraceServer, name: str, password: str) -> Iterator[httpx.Client]:
    """A client logged in with the dashboard's cookie session."""
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        answer = client.post("/api/v1/session", data={"username": name, "password": password})
        assert answer.status_code == 200, answer.text
        yield client


def csrf(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["headrace_csrf"]}


def finished_run(server: HeadraceServer, configuration: dict[str, Any]) -> dict[str, Any]:
    started = server.http.post(
        f"{server.url}/api/v1/pipeline_snapshots/nightly/runs", json=configuration
    )
    assert started.status_code == 201, started.text
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = server.http.get(f"{server.url}/api/v1/runs/{started.json()['id']}").json()
        if run["status"] in ("completed", "failed", "stopped"):
            assert run["status"] == "completed", server.log()
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"the run did not finish:\n{server.log()}")


@pytest.fixture(scope="module")
def run(dashboard_server: HeadraceServer) -> dict[str, Any]:
    return finished_run(dashboard_server, {"steps": {"weights": {"parameters": {"epochs": 2}}}})


def test_the_page_and_its_files_are_served_from_the_package(
    dashboard_server: HeadraceServer,
) -> None:
    page = httpx.get(f"{dashboard_server.url}/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "/dashboard/js/main.js" in page.text and "http" not in page.text.lower().replace(
        "http-equiv", ""
    )
    script = httpx.get(f"{dashboard_server.url}/dashboard/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    static = Path(__file__).resolve().parents[3] / "src/headrace/server/dashboard/static"
    for path in static.rglob("*.*"):
        # Every module and style is local: no CDN, no absolute URL (but SVG's namespace).
        text = path.read_text().replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text and "http://" not in text, path


def test_a_cookie_session_needs_the_csrf_token_for_changes(
    dashboard_server: HeadraceServer,
) -> None:
    server = dashboard_server
    refused = httpx.post(
        f"{server.url}/api/v1/session", data={"username": "admin", "password": "wrong"}
    )
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers

    answer = httpx.post(
        f"{server.url}/api/v1/session", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("headrace_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("headrace_csrf="))
    assert "httponly" in session_cookie.lower() and "samesite=strict" in session_cookie.lower()
    assert "httponly" not in csrf_cookie.lower() and "samesite=strict" in csrf_cookie.lower()
    assert answer.json()["principal"]["name"] == "admin"

    with session(server, "admin", ADMIN_PASSWORD) as client:
        assert client.get("/api/v1/current-user").json()["role"] == "admin"
        name = f"csrf-{uuid.uuid4().hex[:6]}"
        assert client.post("/api/v1/pipelines", json={"name": name}).status_code == 403
        wrong = client.post(
            "/api/v1/pipelines", json={"name": name}, headers={"X-CSRF-Token": "forged"}
        )
        assert wrong.status_code == 403 and "X-CSRF-Token" in wrong.json()["detail"]
        listed = server.http.get(f"{server.url}/api/v1/pipelines", params={"name": name})
        assert listed.json()["total"] == 0  # nothing was created
        made = client.post("/api/v1/pipelines", json={"name": name}, headers=csrf(client))
        assert made.status_code == 201

        out = client.delete("/api/v1/session")
        assert out.status_code == 204
        assert client.get("/api/v1/current-user").status_code == 401
    # Bearer tokens and API keys need no CSRF token: a browser never sends them by itself.
    assert server.http.post(f"{server.url}/api/v1/pipelines", json={"name": name}).is_success


def test_the_run_form_lists_every_parameter_with_type_and_default(
    dashboard_server: HeadraceServer,
) -> None:
    server = dashboard_server
    form = server.http.get(f"{server.url}/api/v1/pipeline_snapshots/nightly/form").json()
    fields = {field["path"]: field for field in form["fields"]}
    rate = fields["steps.model_trainer.parameters.learning_rate"]
    assert (rate["type"], rate["input"], rate["default"]) == ("number", "number", 0.1)
    assert rate["description"] == "the step size."
    assert fields["steps.model_trainer.parameters.epochs"]["input"] == "integer"
    assert "steps.model_trainer.parameters.data" not in fields  # an input, not a parameter
    assert form["may_run"] is True
    assert "learning_rate: 0.1" in form["template_yaml"]

    with session(server, *VIEWER) as viewer:
        assert viewer.get("/api/v1/pipeline_snapshots/nightly/form").json()["may_run"] is False
        refused = viewer.post(
            "/api/v1/pipeline_snapshots/nightly/runs", json={}, headers=csrf(viewer)
        )
        assert refused.status_code == 403


def test_yaml_from_the_editor_becomes_a_configuration_or_a_clear_refusal(
    dashboard_server: HeadraceServer,
) -> None:
    url = f"{dashboard_server.url}/api/v1/pipeline_snapshots/nightly/form/yaml"
    text = "steps:\n  model_trainer:\n    parameters:\n      learning_rate: 0.3\n"
    parsed = dashboard_server.http.post(url, json={"yaml": text})
    assert parsed.json() == {
        "configuration": {"steps": {"model_trainer": {"parameters": {"learning_rate": 0.3}}}}
    }
    broken = dashboard_server.http.post(url, json={"yaml": "steps: [unclosed"})
    assert broken.status_code == 422 and "not valid YAML" in broken.json()["detail"]
    listed = dashboard_server.http.post(url, json={"yaml": "- a\n- b\n"})
    assert listed.status_code == 422 and "mapping" in listed.json()["detail"]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert dashboard_server.http.post(url, json={"yaml": bomb}).status_code == 422


def test_previews_of_values_arrays_and_visualizations(
    dashboard_server: HeadraceServer, run: dict[str, Any]
) -> None:
    server = dashboard_server
    steps = run["steps"]

    def preview(step: str) -> tuple[dict[str, Any], dict[str, Any]]:
        version = steps[step]["outputs"]["output"][0]
        answer = server.http.get(f"{server.url}/api/v1/artifact_versions/{version['id']}/preview")
        assert answer.status_code == 200, answer.text
        return version, answer.json()

    _, data = preview("data_loader")
    assert data["kind"] == "json" and "14" in data["text"]
    _, weights = preview("weights")
    assert (weights["kind"], weights["shape"], weights["dtype"]) == ("array", [2, 4], "float64")
    assert "7." in weights["text"]
    report, html = preview("report")
    assert html["visualizations"] == ["html"]
    shown = server.http.get(
        f"{server.url}/api/v1/artifact_versions/{report['id']}/visualizations/0"
    )
    assert shown.status_code == 200 and "<h1>Report</h1>" in shown.text
    assert shown.headers["content-security-policy"].startswith("sandbox")
    assert shown.headers["x-content-type-options"] == "nosniff"
    missing = server.http.get(
        f"{server.url}/api/v1/artifact_versions/{report['id']}/visualizations/5"
    )
    assert missing.status_code == 400 and "no number 5" in missing.json()["detail"]


def test_a_preview_never_unpickles_and_never_reads_outside_the_version(
    dashboard_server: HeadraceServer, run: dict[str, Any], tmp_path: Path
) -> None:
    server = dashboard_server
    marker = tmp_path / "unpickled"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(marker), "w"))

    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "artifact.pkl").write_bytes(pickle.dumps(Exploit()))
    (directory / "data.json").write_text('"harmless"')
    stack_id = run["stack_id"]

    def record(materializer: str, visualization: str | None = None) -> str:
        version_id = str(uuid.uuid4())
        body = {
            "id": version_id,
            "artifact_name": f"hostile-{version_id[:6]}",
            "uri": str(directory),
            "materializer": materializer,
            "data_type": "builtins.object",
            "content_hash": "0" * 64,
            "size": 10,
            "artifact_store_id": stack_id,
            "visualizations": [{"uri": visualization, "type": "html"}] if visualization else [],
        }
        answer = server.http.post(f"{server.url}/api/v1/artifact_versions", json=body)
        assert answer.status_code == 201, answer.text
        return version_id

    pickled = record("headrace.materializers.cloudpickle_materializer.CloudpickleMaterializer")
    answer = server.http.get(f"{server.url}/api/v1/artifact_versions/{pickled}/preview").json()
    assert answer["kind"] == "none" and "no pickles" in answer["reason"]
    user_code = record("run.MyMaterializer")
    answer = server.http.get(f"{server.url}/api/v1/artifact_versions/{user_code}/preview").json()
    assert answer["kind"] == "none"
    assert not marker.exists()

    outside = record(
        "headrace.materializers.built_in_materializer.BuiltInMaterializer", "/etc/passwd"
    )
    refused = server.http.get(f"{server.url}/api/v1/artifact_versions/{outside}/visualizations/0")
    assert refused.status_code == 400 and "not inside" in refused.json()["detail"]
    sneaky = record(
        "headrace.materializers.built_in_materializer.BuiltInMaterializer",
        f"{directory}/../../../etc/passwd",
    )
    refused = server.http.get(f"{server.url}/api/v1/artifact_versions/{sneaky}/visualizations/0")
    assert refused.status_code == 400


def test_new_snapshot_from_a_run(dashboard_server: HeadraceServer, run: dict[str, Any]) -> None:
    server = dashboard_server
    with session(server, *EDITOR) as editor:
        made = editor.post(
            f"/api/v1/runs/{run['id']}/snapshot", json={"name": "from-run"}, headers=csrf(editor)
        )
        assert made.status_code == 201, made.text
        snapshot = made.json()
        assert snapshot["name"] == "from-run" and snapshot["runnable"] is True
        fields = editor.get(f"/api/v1/pipeline_snapshots/{snapshot['id']}/form").json()["fields"]
        epochs = next(f for f in fields if f["path"] == "steps.weights.parameters.epochs")
        assert epochs["default"] == 2  # the run's value

    with session(server, *VIEWER) as viewer:
        refused = viewer.post(
            f"/api/v1/runs/{run['id']}/snapshot", json={"name": "nope"}, headers=csrf(viewer)
        )
        assert refused.status_code == 403

    plain = record_run(server, "nightly")
    server.http.put(f"{server.url}/api/v1/runs/{plain['id']}", json={"status": "completed"})
    # A recorded run of a runnable snapshot qualifies; one without any snapshot does not.
    orphan = server.http.post(
        f"{server.url}/api/v1/runs",
        json={
            "id": str(uuid.uuid4()),
            "name": f"orphan-{uuid.uuid4().hex[:6]}",
            "pipeline_id": None,
            "snapshot_id": None,
            "stack_id": run["stack_id"],
        },
    ).json()
    answer = server.http.post(
        f"{server.url}/api/v1/runs/{orphan['id']}/snapshot", json={"name": "orphaned"}
    )
    assert answer.status_code == 400
    assert "--from-run" in answer.json()["detail"]


def test_a_running_step_s_logs_can_be_read_before_it_ends(
    dashboard_server: HeadraceServer,
) -> None:
    server = dashboard_server
    started = server.http.post(f"{server.url}/api/v1/pipeline_snapshots/talker/runs", json={})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + RUN_TIMEOUT
    seen_while_running = False
    while time.monotonic() < deadline:
        run = server.http.get(f"{server.url}/api/v1/runs/{run_id}").json()
        step = run["steps"].get("slow_talker")
        if step is not None:
            logs = server.http.get(f"{server.url}/api/v1/steps/{step['id']}/logs").text
            status = server.http.get(f"{server.url}/api/v1/steps/{step['id']}").json()["status"]
            if "halfway there" in logs and status == "running":
                assert "done" not in logs
                seen_while_running = True
                break
        if run["status"] in ("completed", "failed", "stopped"):
            break
        time.sleep(0.2)
    assert seen_while_running, server.log()
