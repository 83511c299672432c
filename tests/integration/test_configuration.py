"""Configuration layers, YAML files, run names, asynchronous runs."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.config import PipelineRunConfiguration
from headrace.config import pipeline_run_configuration as prc_module
from headrace.exceptions import ConfigurationError, EntityExistsError

RELEASE = threading.Event()


@step
def echo(value: int = 0) -> int:
    return value


@step(enable_cache=False)
def waits() -> int:
    RELEASE.wait(10)
    return 1


def test_run_configuration_is_importable_from_both_paths() -> None:
    assert prc_module.PipelineRunConfiguration is PipelineRunConfiguration


def test_precedence_code_configure_yaml_with_options(repo: Path, tmp_path: Path) -> None:
    @pipeline(enable_cache=True, tags=["code"])
    def p() -> None:
        echo(value=1)

    def effective(candidate) -> tuple[bool | None, int]:  # type: ignore[no-untyped-def]
        spec = candidate.compile().spec
        return spec.config.enable_cache, spec.steps["echo"].parameters["value"]

    assert effective(p) == (True, 1)
    p.configure(enable_cache=False)
    assert effective(p) == (False, 1)
    config = tmp_path / "c.yaml"
    config.write_text("enable_cache: true\nsteps:\n  echo:\n    parameters:\n      value: 2\n")
    from_yaml = p.with_options(config_path=config)
    assert effective(from_yaml) == (True, 2)
    both = p.with_options(
        config_path=config, enable_cache=False, steps={"echo": {"parameters": {"value": 3}}}
    )
    assert effective(both) == (False, 3)
    assert both.compile().spec.config.tags == ["code"]


def test_yaml_errors_name_file_line_and_key(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @pipeline
    def p() -> None:
        echo()

    config = tmp_path / "bad.yaml"
    config.write_text("run_name: fine\nsteps:\n  echo:\n    enable_cache: sometimes\n")
    with pytest.raises(ConfigurationError) as info:
        p.with_options(config_path=config)
    message = str(info.value)
    assert str(config) in message and "line 4" in message and "steps.echo.enable_cache" in message

    config.write_text("enable_cash: true\n")
    p.with_options(config_path=config)  # a top-level key only warns (see test_nothing_ignored)
    monkeypatch.setenv("HEADRACE_STRICT_CONFIG", "true")
    with pytest.raises(ConfigurationError, match=r"line 1: top-level key 'enable_cash'"):
        p.with_options(config_path=config)

    config.write_text("steps: [unclosed\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        p.with_options(config_path=config)


def test_run_names_with_placeholders_and_clashes(repo: Path) -> None:
    @pipeline
    def p() -> None:
        echo()

    run = p.with_options(run_name="nightly-{date}-{time}")()
    assert re.fullmatch(r"nightly-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}_\d{6}", run.name)
    custom = p.with_options(run_name="exp-{team}", substitutions={"team": "vision"})()
    assert custom.name == "exp-vision"
    with pytest.raises(EntityExistsError, match="'exp-vision' already exists"):
        p.with_options(run_name="exp-{team}", substitutions={"team": "vision"})()
    with pytest.raises(ConfigurationError, match="placeholder"):
        p.with_options(run_name="exp-{missing}")()
    assert p().name != p().name  # default names are unique


def test_seed_style_run_configuration_spread(repo: Path) -> None:
    @pipeline
    def simple_pipeline(name: str = "World") -> None:
        echo()

    run_config = PipelineRunConfiguration(enable_cache=False, run_name="experimental_run")
    run = simple_pipeline.with_options(**run_config)(name="Bob")
    assert run.name == "experimental_run" and run.parameters == {"name": "Bob"}
    assert run.steps["echo"].status is ExecutionStatus.COMPLETED


def test_asynchronous_run_returns_at_once_and_wait_returns_it(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def slow_pipeline() -> None:
        waits()

    RELEASE.clear()
    handle = slow_pipeline.with_options(synchronous=False)()
    assert handle.status in (ExecutionStatus.INITIALIZING, ExecutionStatus.RUNNING)
    RELEASE.set()
    final = handle.wait(timeout=30)
    assert final.status is ExecutionStatus.COMPLETED
    assert final.steps["waits"].output.load() == 1


def test_asynchronous_from_yaml(repo: Path, tmp_path: Path) -> None:
    @pipeline(enable_cache=False)
    def slow_pipeline() -> None:
        waits()

    config = tmp_path / "async.yaml"
    config.write_text("synchronous: false\n")
    RELEASE.clear()
    handle = slow_pipeline.with_options(config_path=config)()
    assert not handle.status.is_finished
    RELEASE.set()
    assert handle.wait(timeout=30).status is ExecutionStatus.COMPLETED
