"""ZenML's keyword arguments to ``Client`` methods are accepted or clearly refused, and
snapshot commands outside a repository say which store they used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from headrace import pipeline, step
from headrace.client import Client
from headrace.exceptions import ConfigurationError


@step
def double(x: int) -> int:
    return 2 * x


@pipeline
def doubling(x: int = 2) -> None:
    double(x)


@pytest.fixture
def client(repo: Path) -> Client:
    doubling()
    double(3)  # a single step: an unlisted run
    return Client()


def test_list_pipeline_runs_accepts_zenml_filters(client: Client) -> None:
    unlisted = client.list_pipeline_runs(unlisted=True)
    assert [run.unlisted for run in unlisted] == [True]
    listed = client.list_pipeline_runs(unlisted=False, hydrate=True, logical_operator="and")
    assert [run.pipeline_name for run in listed] == ["doubling"]
    assert client.list_pipeline_runs(pipeline="doubling").total == 1
    assert client.list_pipeline_runs(pipeline_name="equals:doubling").total == 1
    assert client.list_pipeline_runs(status="COMPLETED", project="default").total == 2


def test_list_filters_take_zenml_operators(client: Client) -> None:
    assert client.list_pipeline_runs(pipeline_name="contains:oubl").total == 1
    assert client.list_pipeline_runs(pipeline_name='oneof:["doubling", "x"]').total == 1
    run = client.list_pipeline_runs(pipeline_name="doubling").items[0]
    either = client.list_pipeline_runs(
        pipeline_name="doubling", name="startswith:double-", logical_operator="or"
    )
    assert either.total == 2  # the pipeline's run, or the single step's run by its name
    both = client.list_pipeline_runs(pipeline_name="doubling", name=f"startswith:{run.name}")
    assert both.total == 1
    assert client.list_pipeline_runs(name="startswith:nothing-like-it").total == 0


def test_get_methods_accept_hydrate_and_project(client: Client) -> None:
    run = client.list_pipeline_runs(pipeline_name="doubling").items[0]
    assert run.snapshot_id is not None  # the unnamed snapshot a plain run stores
    found = client.get_snapshot(run.snapshot_id, hydrate=True, project="my-project")
    assert found.id == run.snapshot_id
    found = client.get_snapshot(run.snapshot_id, hydrate=False, allow_name_prefix_match=False)
    assert found.id == run.snapshot_id
    assert client.get_pipeline_run(run.name, hydrate=True, project=None).id == run.id
    assert client.get_pipeline("doubling", hydrate=True).name == "doubling"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.list_pipeline_runs(pipline_name="doubling"),
            r"unknown filter 'pipline_name' \(did you mean 'pipeline_name'\?\); valid: ",
        ),
        (
            lambda c: c.get_snapshot("nightly", hydrat=True),
            r"get_snapshot\(\): unknown argument 'hydrat' \(did you mean 'hydrate'\?\)",
        ),
        (lambda c: c.list_pipeline_runs(size="many"), r"invalid filter value: size: "),
        (lambda c: c.list_pipeline_runs(logical_operator="xor"), r"logical_operator"),
        (lambda c: c.list_pipeline_runs(name="oneof:not-json"), r"'oneof:' takes a JSON list"),
        (lambda c: c.list_pipeline_runs(status="runing"), r"Unknown run status 'runing'"),
        (lambda c: c.list_pipelines(tags=["a", "b"]), r"one tag at a time"),
        (lambda c: c.list_snapshots(named=True), r"unknown filter 'named'"),
    ],
)
def test_unsupported_arguments_are_refused_clearly(client: Client, call, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match=expected):
        call(client)


def test_snapshot_commands_outside_a_repository_name_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env.pop("XDG_DATA_HOME", None)
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "pipeline", "snapshot", "list"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "No headrace repository in this directory or above" in result.stderr
    assert str(home) in result.stderr and "headrace.db" in result.stderr
    assert "headrace init" in result.stderr
    # inside a repository nothing is added
    subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "init"], cwd=outside, env=env, check=True
    )
    inside = subprocess.run(
        [sys.executable, "-m", "headrace.cli.main", "pipeline", "snapshot", "list"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "No headrace repository" not in inside.stderr
