"""Step and pipeline hooks, step context inside hooks, and the webhook alerter."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from headrace import ExecutionStatus, get_step_context, pipeline, step
from headrace.exceptions import RunFailedError
from headrace.hooks import webhook_alerter

EVENTS: list[tuple[str, Any]] = []


def record_success() -> None:
    context = get_step_context()
    EVENTS.append(("success", context.step_name))


def record_failure(exception: BaseException) -> None:
    context = get_step_context()
    EVENTS.append(("failure", (context.step_name, str(exception), context.exception is exception)))


def failure_without_argument() -> None:
    EVENTS.append(("failure-no-arg", get_step_context().step_name))


def broken_hook() -> None:
    raise RuntimeError("the hook itself broke")


def setup() -> dict[str, int]:
    EVENTS.append(("init", None))
    return {"threshold": 7}


def cleanup() -> None:
    EVENTS.append(("cleanup", None))


@step(enable_cache=False)
def ok() -> int:
    return 1


@step(enable_cache=False)
def boom(x: int) -> int:
    raise ValueError("boom")


@step(enable_cache=False)
def reads_state() -> int:
    return int(get_step_context().pipeline_state["threshold"])


@pytest.fixture(autouse=True)
def _events() -> None:
    EVENTS.clear()


def test_step_hooks_get_context_and_exception(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def p() -> None:
        boom(ok.with_options(on_success=record_success)())

    p.configure(on_failure=record_failure)
    with pytest.raises(RunFailedError):
        p()
    assert ("success", "ok") in EVENTS
    assert ("failure", ("boom", "boom", True)) in EVENTS


def test_step_level_hooks_take_precedence(repo: Path) -> None:
    @pipeline(enable_cache=False, on_success=record_success)
    def p() -> None:
        ok(id="a")
        ok.with_options(on_success=failure_without_argument)(id="b")

    p()
    assert sorted(EVENTS) == [("failure-no-arg", "ok"), ("success", "ok")]


def test_hooks_as_source_strings(repo: Path) -> None:
    @step(enable_cache=False, on_success=f"{__name__}.record_success")
    def sourced() -> int:
        return 1

    @pipeline(enable_cache=False)
    def p() -> None:
        sourced()

    p()
    assert EVENTS == [("success", "sourced")]


def test_a_raising_hook_is_recorded_and_does_not_hide_the_step_error(repo: Path) -> None:
    @pipeline(enable_cache=False, on_failure=broken_hook)
    def p() -> None:
        boom(1)

    with pytest.raises(RunFailedError) as info:
        p()
    assert isinstance(info.value.__cause__, ValueError)
    step_run = info.value.run.steps["boom"]  # type: ignore[attr-defined]
    assert step_run.error is not None and step_run.error.type == "ValueError"
    assert [(e.hook, e.message) for e in step_run.hook_errors] == [
        ("on_failure", "the hook itself broke")
    ]


def test_a_raising_success_hook_keeps_the_step_completed(repo: Path) -> None:
    @pipeline(enable_cache=False, on_success=broken_hook)
    def p() -> None:
        ok()

    run = p()
    assert run.status is ExecutionStatus.COMPLETED
    assert run.steps["ok"].hook_errors[0].type == "RuntimeError"


def test_init_state_reaches_steps_and_cleanup_always_runs(repo: Path) -> None:
    @pipeline(enable_cache=False, on_init=setup, on_cleanup=cleanup)
    def good() -> None:
        reads_state()

    run = good()
    assert run.steps["reads_state"].output.load() == 7
    assert EVENTS == [("init", None), ("cleanup", None)]

    EVENTS.clear()

    @pipeline(enable_cache=False, on_init=setup, on_cleanup=cleanup)
    def bad() -> None:
        boom(1)

    with pytest.raises(RunFailedError):
        bad()
    assert EVENTS == [("init", None), ("cleanup", None)]


def test_a_failing_init_hook_fails_the_run_before_any_step(repo: Path) -> None:
    @pipeline(enable_cache=False, on_init=broken_hook, on_cleanup=cleanup)
    def p() -> None:
        ok()

    with pytest.raises(RunFailedError, match="the hook itself broke") as info:
        p()
    last = info.value.run  # type: ignore[attr-defined]
    assert last.status is ExecutionStatus.FAILED
    assert last.steps["ok"].status is ExecutionStatus.SKIPPED
    assert [e.hook for e in last.hook_errors] == ["on_init"]
    assert ("cleanup", None) in EVENTS


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_alerter_posts_to_a_local_server(repo: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received.clear()
    try:
        on_success, on_failure = webhook_alerter(f"http://127.0.0.1:{server.server_port}/hook")

        @pipeline(enable_cache=False, on_success=on_success, on_failure=on_failure)
        def alerted() -> None:
            boom(ok())

        with pytest.raises(RunFailedError):
            alerted()
    finally:
        server.shutdown()
    by_status = {m["status"]: m for m in _Receiver.received}
    assert by_status["succeeded"]["step"] == "ok"
    assert by_status["failed"]["step"] == "boom"
    assert by_status["failed"]["error"] == "ValueError: boom"
    assert "run" in by_status["failed"] and by_status["failed"]["pipeline"] == "alerted"
