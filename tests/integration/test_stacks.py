"""Stacks and stack components end to end: the CLI against a real SQLite repository,
runs on a registered second stack, orchestrator settings, and the webhook alerter
posting to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from headrace import pipeline, step
from headrace.cli.main import app
from headrace.client import Client
from headrace.enums import ExecutionStatus, StackComponentType
from headrace.exceptions import RunFailedError, StackComponentError

_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
RUNNER = CliRunner(env=dict.fromkeys(_TERMINAL_VARIABLES))


def invoke(*args: str, input: str | None = None) -> Result:
    """Run ``headrace ARGS`` in-process."""
    return RUNNER.invoke(app, list(args), input=input)


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    return " ".join(result.stderr.split())


def row_of(output: str, key: str) -> list[str]:
    lines = [line for line in output.splitlines() if f" {key} " in f" {line} "]
    assert len(lines) == 1, f"expected one line with {key!r} in:\n{output}"
    return lines[0].split()


@step
def numbers(n: int) -> list[int]:
    return list(range(n))


@step
def add_up(values: list[int]) -> int:
    return sum(values)


@step
def process_id() -> int:
    return os.getpid()


@pipeline
def summing(n: int = 4) -> None:
    add_up(numbers(n))


# -- the CLI -------------------------------------------------------------------------------
def test_a_fresh_repository_has_the_default_stack(repo: Path) -> None:
    listing = ok("stack", "list")
    assert row_of(listing, "default")[:5] == ["*", "default", "default", "default", "-"]
    described = ok("stack", "describe")
    assert "default (active)" in described
    assert str(repo / ".headrace" / "artifacts") in described
    assert row_of(ok("orchestrator", "list"), "default")[:3] == ["*", "default", "local"]
    assert row_of(ok("artifact-store", "list"), "default")[:3] == ["*", "default", "local"]


def test_components_and_stacks_are_registered_described_and_activated(repo: Path) -> None:
    ok("artifact-store", "register", "second", "--flavor=local", "--path=./second-artifacts")
    ok(
        "orchestrator",
        "register",
        "fast",
        "--flavor",
        "local",
        "--max-parallelism=3",
        "--processes",
        "false",
    )
    ok("alerter", "register", "team", "--flavor=webhook", "--url=http://127.0.0.1:9/hook")
    ok("stack", "register", "second", "-o", "fast", "-a", "second", "-al", "team")

    fast = Client().get_stack_component(StackComponentType.ORCHESTRATOR, "fast")
    assert fast.configuration == {"max_parallelism": 3, "processes": False}
    described = ok("stack", "describe", "second")
    assert "fast (flavor local)" in described and "team (flavor webhook)" in described
    assert str(repo / "second-artifacts") in described
    assert row_of(ok("stack", "list"), "second")[:4] == ["second", "fast", "second", "team"]
    assert re.search(r"used by stacks\s+second", ok("orchestrator", "describe", "fast"))

    assert "Active stack: 'second'." in ok("stack", "set", "second")
    assert Client().active_stack.name == "second"
    assert Client().active_stack.alerter is not None
    assert "second (active)" in ok("stack", "describe")
    assert row_of(ok("orchestrator", "list"), "fast")[0] == "*"

    ok("orchestrator", "update", "fast", "--max_parallelism=5", "--processes=null")
    fast = Client().get_stack_component(StackComponentType.ORCHESTRATOR, "fast")
    assert fast.configuration == {"max_parallelism": 5}
    ok("stack", "update", "second", "--no-alerter")
    assert Client().get_stack("second").alerter is None


def test_bad_keys_and_flavors_are_refused_with_what_is_allowed(repo: Path) -> None:
    message = refused("orchestrator", "register", "x", "--flavor=local", "--max_paralelism=2")
    assert "Unknown key 'max_paralelism'" in message
    assert "did you mean 'max_parallelism'?" in message
    assert "Allowed keys: max_parallelism, processes, synchronous." in message
    assert "allowed flavors: kubernetes, local, ray" in refused(
        "orchestrator", "register", "x", "--flavor=airflow"
    )
    assert "key 'url' is required" in refused("alerter", "register", "a", "--flavor=webhook")
    assert "key 'max_parallelism'" in refused(
        "orchestrator", "register", "x", "--flavor=local", "--max_parallelism=none"
    )
    assert "needs an orchestrator and an artifact store" in refused("stack", "register", "s")
    assert "No orchestrator has the name or id 'nope'" in refused(
        "stack", "register", "s", "-o", "nope", "-a", "default"
    )
    ok("orchestrator", "register", "x", "--flavor=local")
    assert "exists already" in refused("orchestrator", "register", "x", "--flavor=ray")
    assert "'proceses'" in refused("orchestrator", "update", "x", "--proceses=true")


def test_what_is_in_use_cannot_be_deleted(repo: Path) -> None:
    ok("artifact-store", "register", "other", "--flavor=local", f"--path={repo / 'other'}")
    ok("stack", "register", "other", "-o", "default", "-a", "other", "--set")
    assert "'other' is the active stack" in refused("stack", "delete", "other", "--yes")
    assert "'other' is used by stack(s) other" in refused(
        "artifact-store", "delete", "other", "--yes"
    )
    assert "used by stack(s) default, other" in refused(
        "orchestrator", "delete", "default", "--yes"
    )
    assert "'default' cannot be deleted" in refused("stack", "delete", "default", "--yes")

    ok("stack", "set", "default")
    kept = invoke("stack", "delete", "other", input="n\n")
    assert kept.exit_code == 0 and "Kept stack 'other'." in kept.stderr
    assert "Deleted stack 'other'." in ok("stack", "delete", "other", "--yes")
    assert "Deleted artifact store 'other'." in ok("artifact-store", "delete", "other", "-y")
    assert "No artifact store has the name or id 'other'" in refused(
        "artifact-store", "describe", "other"
    )


# -- runs on a stack -----------------------------------------------------------------------
@pytest.mark.usefixtures("artifacts_as_files")  # checks the files themselves
def test_a_run_on_a_second_stack_writes_to_its_artifact_store(repo: Path) -> None:
    default_root = repo / ".headrace" / "artifacts"
    first = summing(n=4)
    ok("artifact-store", "register", "elsewhere", "--flavor=local", "--path=elsewhere")
    ok("stack", "register", "second", "-o", "default", "-a", "elsewhere", "--set")

    run = summing(n=4)  # same code and inputs: not cached, the bytes would be elsewhere
    second_stack = Client().get_stack("second")
    assert run.stack_id == second_stack.id != first.stack_id
    steps = Client().get_pipeline_run(run.id).steps
    assert steps["add_up"].status is ExecutionStatus.COMPLETED
    version = steps["add_up"].output
    assert version.uri.startswith(str(repo / "elsewhere"))
    assert version.load() == 6
    assert not any(default_root.rglob(f"*{run.id}*"))
    assert (repo / "elsewhere" / "runs" / run.id).is_dir()
    # Artifacts of the first run stay readable through the stack that wrote them.
    assert Client().get_pipeline_run(first.id).steps["add_up"].output.load() == 6


def test_snapshots_record_and_show_their_stack(repo: Path) -> None:
    (repo / "project.py").write_text(
        "from headrace import pipeline, step\n\n"
        "@step\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef tiny() -> None:\n    one()\n"
    )
    ok("artifact-store", "register", "snaps", "--flavor=local", "--path=snaps")
    ok("stack", "register", "for-snapshots", "-o", "default", "-a", "snaps")
    created = ok(
        "pipeline", "snapshot", "create", "project.tiny", "--name", "s1", "--stack", "for-snapshots"
    )
    assert re.search(r"stack:\s+for-snapshots", created)
    snapshot = Client().get_snapshot("s1")
    assert snapshot.stack_id == Client().get_stack("for-snapshots").id
    assert Client().active_stack.name == "default"
    assert re.search(r"stack:\s+for-snapshots", ok("pipeline", "snapshot", "describe", "s1"))
    assert any((repo / "snaps" / "code").iterdir())
    assert "recorded by 1 snapshot(s)" in refused("stack", "delete", "for-snapshots", "-y")
    assert "No stack has the name or id 'nope'" in refused(
        "pipeline", "snapshot", "create", "project.tiny", "--name", "s2", "--stack", "nope"
    )


def _pids(run_id: str) -> set[int]:
    steps = Client().get_pipeline_run(run_id).steps
    return {steps[name].output.load() for name in ("a", "b")}


@pipeline(enable_cache=False)
def where() -> None:
    # Two steps that overlap: the local orchestrator's process option runs such steps
    # in child processes (a step that runs alone stays in the calling thread).
    process_id(id="a")
    process_id(id="b")


def test_the_stack_orchestrator_configuration_and_settings_drive_the_run(repo: Path) -> None:
    ok("orchestrator", "register", "isolated", "--flavor=local", "--processes=true")
    ok("stack", "register", "isolated", "-o", "isolated", "-a", "default", "--set")
    run = where()
    assert _pids(run.id) - {os.getpid()}

    # settings["orchestrator.<component name>"] overrides the component's configuration.
    threads = where.with_options(settings={"orchestrator.isolated": {"processes": False}})
    assert _pids(threads().id) == {os.getpid()}


def test_unknown_orchestrator_settings_are_refused_before_the_run_starts(repo: Path) -> None:
    @pipeline(settings={"orchestrator": {"address": "ray://far:10001"}})
    def for_ray() -> None:
        process_id()

    before = Client().list_pipeline_runs().total
    with pytest.raises(
        StackComponentError, match="'address' in pipeline settings\\['orchestrator'\\]"
    ):
        for_ray()
    assert Client().list_pipeline_runs().total == before

    @pipeline(settings={"orchestrator.ray": {"address": "ray://far:10001"}})
    def elsewhere() -> None:  # settings for another flavor target another stack
        process_id()

    assert elsewhere().status is ExecutionStatus.COMPLETED


def test_orchestrator_settings_from_yaml(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("settings:\n  orchestrator.local:\n    processes: true\n")
    run = where.with_options(config_path=str(config))()
    assert _pids(run.id) - {os.getpid()}
    config.write_text("settings:\n  orchestrator.local:\n    procesess: true\n")
    with pytest.raises(Exception, match="'procesess'.*'processes'"):
        where.with_options(config_path=str(config))()


# -- the alerter ---------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on 127.0.0.1 recording each JSON body and its headers."""
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"body": json.loads(body), "token": self.headers.get("X-Token")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_the_active_stack_alerter_posts_from_a_hook(
    repo: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    ok(
        "alerter",
        "register",
        "team",
        "--flavor=webhook",
        f"--url={url}",
        '--headers={"X-Token": "t0k3n"}',
    )
    ok("stack", "register", "alerting", "-o", "default", "-a", "default", "-al", "team", "--set")
    assert "***" in ok("alerter", "describe", "team") and "t0k3n" not in ok(
        "alerter", "describe", "team"
    )

    def notify(exception: BaseException) -> None:  # seed 002's failure hook
        Client().active_stack.alerter.post(f"Step failed: {exception}")  # type: ignore[union-attr]

    @step(on_failure=notify)
    def fragile() -> None:
        raise ValueError("disk full")

    @pipeline(enable_cache=False)
    def alerted() -> None:
        fragile()

    with pytest.raises(RunFailedError):
        alerted()
    assert received == [{"body": {"text": "Step failed: disk full"}, "token": "t0k3n"}]

    from headrace.hooks import alerter_success_hook

    @step(on_success=alerter_success_hook)
    def fine() -> None:
        pass

    @pipeline(enable_cache=False)
    def praised() -> None:
        fine()

    praised()
    assert received[1]["body"]["status"] == "succeeded"
    assert received[1]["body"]["text"].startswith("Step 'fine' of run")
    assert Client().active_stack.alerter.post("hello", {"level": "info"}) is True  # type: ignore[union-attr]
    assert received[2]["body"] == {"text": "hello", "level": "info"}


def test_only_an_alerter_posts_and_an_unreachable_receiver_is_not_an_error(repo: Path) -> None:
    with pytest.raises(StackComponentError, match="not an alerter"):
        Client().active_stack.orchestrator.post("hi")
    component = Client().create_stack_component(
        "dead", "webhook", "alerter", {"url": "http://127.0.0.1:9/nothing", "timeout_s": 2}
    )
    assert component.post("anyone?") is False
