"""Step log capture, pipeline environment, and encrypted secrets."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.exceptions import EntityExistsError, RunFailedError

logger = logging.getLogger("user.code")


@step(enable_cache=False)
def chatty(label: str) -> int:
    for i in range(3):
        print(f"{label} line {i}")
        time.sleep(0.05)  # interleave with a parallel sibling
    logger.warning("%s warns", label)
    return 1


@step(enable_cache=False, enable_step_logs=False)
def quiet() -> int:
    print("not kept")
    return 1


@step(enable_cache=False)
def fails_loudly() -> int:
    print("about to fail")
    raise RuntimeError("nope")


def test_each_step_keeps_its_own_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    @pipeline(enable_cache=False)
    def p() -> None:
        chatty("left", id="left")
        chatty("right", id="right")
        quiet()

    run = p()
    logs = Client().get_run_logs(run.name)
    assert [line for line in logs["left"].splitlines() if "line" in line] == [
        "left line 0",
        "left line 1",
        "left line 2",
    ]
    assert "right" not in logs["left"] and "left" not in logs["right"]
    assert "WARNING user.code: left warns" in logs["left"]
    assert logs["quiet"] == "" and run.steps["quiet"].logs_uri is None
    assert "left line 1" in capsys.readouterr().out  # streamed to the terminal as well
    assert Client().get_run_logs(run.name, step="right")["right"].count("right line") == 3


def test_a_failed_step_keeps_its_logs(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def p() -> None:
        fails_loudly()

    with pytest.raises(RunFailedError) as info:
        p()
    assert "about to fail" in info.value.run.steps["fails_loudly"].logs  # type: ignore[attr-defined]


@step(enable_cache=False)
def read_env(name: str) -> str:
    return os.environ.get(name, "<unset>")


def test_environment_is_set_for_the_pipeline_only(repo: Path) -> None:
    @pipeline(enable_cache=False, environment={"HR_TEST_VAR": "on", "HR_NUM": 4})
    def p() -> None:
        read_env("HR_TEST_VAR", id="var")
        read_env("HR_NUM", id="num")

    assert "HR_TEST_VAR" not in os.environ
    run = p()
    assert run.steps["var"].output.load() == "on"
    assert run.steps["num"].output.load() == "4"
    assert "HR_TEST_VAR" not in os.environ


def test_step_environment(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def p() -> None:
        read_env.with_options(environment={"HR_STEP_VAR": "step"})("HR_STEP_VAR")

    assert p().steps["read_env"].output.load() == "step"
    assert "HR_STEP_VAR" not in os.environ


def test_secrets_reach_steps_as_environment_and_are_encrypted(repo: Path) -> None:
    client = Client()
    client.create_secret("aws_credentials", values={"aws_access_key_id": "AKIA-SECRET-123"})
    assert client.get_secret("aws_credentials").secret_values == {
        "aws_access_key_id": "AKIA-SECRET-123"
    }
    listed = client.list_secrets()
    assert [s.name for s in listed] == ["aws_credentials"] and listed[0].values is None
    assert "AKIA" not in repr(client.get_secret("aws_credentials"))
    with pytest.raises(EntityExistsError):
        client.create_secret("aws_credentials", values={"x": "y"})

    @pipeline(enable_cache=False, secrets=["aws_credentials"])
    def secure() -> None:
        read_env("AWS_ACCESS_KEY_ID")

    assert secure().steps["read_env"].output.load() == "AKIA-SECRET-123"
    raw = (
        sqlite3.connect(repo / ".headrace" / "headrace.db")
        .execute("SELECT ciphertext FROM secrets")
        .fetchone()[0]
    )
    assert "AKIA-SECRET-123" not in raw
    key_file = repo / ".headrace" / "secrets.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600


def test_secret_key_from_environment(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("HEADRACE_SECRETS_KEY", Fernet.generate_key().decode())
    Client().create_secret("token", values={"value": "t0k3n"})
    assert Client().get_secret("token").secret_values["value"] == "t0k3n"
    assert not (repo / ".headrace" / "secrets.key").exists()


def test_a_missing_secret_fails_the_run_before_any_step(repo: Path) -> None:
    @pipeline(enable_cache=False, secrets=["api_keys"])
    def p() -> None:
        read_env("X")

    with pytest.raises(RunFailedError, match="needs secret 'api_keys'"):
        p()
    run = Client().get_pipeline("p").last_run
    assert run.status is ExecutionStatus.FAILED
    assert run.steps == {}
    assert "api_keys" in (run.status_reason or "")
