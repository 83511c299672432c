"""The server over real HTTP: info routes, filters, bad input (always 4xx, never 500),
permission dependencies on every route, and a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from headrace.server.app import create_app
from headrace.server.deps import PERMISSION_DEPENDENCIES
from headrace_server import HeadraceServer

OPEN_ROUTES = {"/health", "/api/v1/info", "/api/v1/login", "/api/v1/session"}


def test_health_info_and_openapi(headrace_server: HeadraceServer) -> None:
    base = headrace_server.url
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}
    info = httpx.get(f"{base}/api/v1/info").json()
    assert info["database_kind"] == "sqlite" and info["version"] and info["auth_scheme"]
    document = httpx.get(f"{base}/openapi.json").json()
    assert "/api/v1/pipeline_snapshots/{name_or_id}/runs" in document["paths"]
    assert "/api/v1/runs/{name_or_id}" in document["paths"]
    assert httpx.get(f"{base}/docs").status_code == 200


def test_sigterm_stops_the_server_cleanly(tmp_path: Path, migrated_sqlite: Path) -> None:
    server = HeadraceServer(tmp_path, template=migrated_sqlite, extra_args=["--log-level", "info"])
    server.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = server.stop()
    assert time.monotonic() - started < 10
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after shutting down
    assert "headrace server stopped cleanly" in server.log()


def test_field_filters_with_operators_and_logical_or(headrace_server: HeadraceServer) -> None:
    api = f"{headrace_server.url}/api/v1"
    ids = {}
    for name in ("train_small", "train_large", "evaluate", "100%_done"):
        answer = headrace_server.http.post(f"{api}/pipelines", json={"name": name})
        assert answer.status_code == 201
        ids[name] = answer.json()["id"]

    def names(**params: str) -> list[str]:
        answer = headrace_server.http.get(
            f"{api}/pipelines", params={"sort_by": "asc:name", **params}
        )
        assert answer.status_code == 200, answer.text
        return [item["name"] for item in answer.json()["items"]]

    assert names(name="contains:train") == ["train_large", "train_small"]
    assert names(name="startswith:EVAL") == ["evaluate"]
    assert names(name="endswith:_small") == ["train_small"]
    assert names(name="contains:%") == ["100%_done"]  # a wildcard is a plain character
    assert names(name="in:evaluate,train_small") == ["evaluate", "train_small"]
    assert names(name="notequals:evaluate") == ["100%_done", "train_large", "train_small"]
    either = names(name="evaluate", id=ids["train_small"], logical_operator="or")
    assert either == ["evaluate", "train_small"]
    assert names(name="evaluate", id=ids["train_small"]) == []  # and: both must hold
    page = headrace_server.http.get(f"{api}/pipelines", params={"size": 1, "page": 2}).json()
    assert (page["index"], page["max_size"], page["total_pages"], page["total"]) == (2, 1, 4, 4)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "POST",
            "/pipelines",
            {"content": b"{bad json", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("POST", "/pipelines", {"json": {"name": 5}}, 422),
        ("POST", "/pipelines", {"json": {"name": "p", "unknown": 1}}, 422),
        ("POST", "/pipelines", {"json": {"name": "../../etc/passwd"}}, 422),
        ("POST", "/pipelines", {"json": {"name": "a\x00b"}}, 422),
        ("POST", "/secrets", {"json": {"name": "..", "values": {"k": "v"}}}, 422),
        ("GET", "/pipelines", {"params": {"size": "many"}}, 422),
        ("GET", "/pipelines", {"params": {"page": "0"}}, 422),
        ("GET", "/pipelines", {"params": {"colour": "red"}}, 422),
        ("GET", "/pipelines", {"params": {"logical_operator": "xor"}}, 422),
        ("GET", "/pipelines", {"params": {"sort_by": "desc:name; DROP TABLE pipelines"}}, 400),
        ("GET", "/runs", {"params": {"created": "gte:yesterday"}}, 400),
        ("GET", "/runs", {"params": {"status": "in:running,nonsense"}}, 422),
        ("GET", "/pipelines/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("GET", "/runs/does-not-exist", {}, 404),
        ("POST", "/pipeline_snapshots/nope/runs", {"json": {"steps": {}}}, 404),
        ("POST", "/pipeline_snapshots/nope/runs", {"json": [1, 2]}, 422),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(
    headrace_server: HeadraceServer, method: str, path: str, kwargs: dict, status: int
) -> None:
    answer = headrace_server.http.request(method, f"{headrace_server.url}/api/v1{path}", **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"]


def test_sql_metacharacters_in_filters_are_plain_text(headrace_server: HeadraceServer) -> None:
    api = f"{headrace_server.url}/api/v1"
    headrace_server.http.post(f"{api}/pipelines", json={"name": "kept"})
    for value in ("x' OR '1'='1", "contains:'; DROP TABLE pipelines; --", 'in:a",b'):
        answer = headrace_server.http.get(f"{api}/pipelines", params={"name": value})
        assert answer.status_code == 200 and answer.json()["total"] == 0, answer.text
    assert headrace_server.http.get(f"{api}/pipelines").json()["total"] == 1


def test_oversize_bodies_are_refused(tmp_path: Path, migrated_sqlite: Path) -> None:
    server = HeadraceServer(
        tmp_path, template=migrated_sqlite, extra_args=["--max-body-bytes", "1000"]
    )
    try:
        api = f"{server.url}/api/v1"
        big = {"name": "p", "docstring": "x" * 5000}
        answer = server.http.post(f"{api}/pipelines", json=big)
        assert answer.status_code == 413 and "1000 bytes" in answer.json()["detail"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"x" * 500

        answer = httpx.post(
            f"{api}/pipelines", content=chunks(), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
        assert server.http.post(f"{api}/pipelines", json={"name": "small"}).status_code == 201
    finally:
        server.stop()


def test_every_route_but_the_open_ones_declares_a_permission() -> None:
    app = create_app()
    documented = {
        (path, method.upper())
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    checked = set()
    for path, methods, dependant in _api_routes(app):
        calls = {d.call for d in _all_dependencies(dependant)}
        has_permission = bool(calls & set(PERMISSION_DEPENDENCIES))
        assert has_permission == (path not in OPEN_ROUTES), path
        checked |= {(path, method) for method in methods}
    assert documented <= checked, documented - checked


def _api_routes(app):  # type: ignore[no-untyped-def]
    """(path, methods, dependant) of every API route, including included routers'."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)  # FastAPI >= 0.130
        for item in contexts() if contexts is not None else [route]:
            if getattr(item, "dependant", None) is not None:
                yield item.path, set(item.methods or ()), item.dependant


def _all_dependencies(dependant):  # type: ignore[no-untyped-def]
    for dependency in dependant.dependencies:
        yield dependency
        yield from _all_dependencies(dependency)
