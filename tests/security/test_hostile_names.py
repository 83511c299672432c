"""Names that would reach outside the store are refused when the pipeline compiles, and
the artifact store itself refuses any path outside its root (defence in depth)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.artifact_stores.base import FsspecArtifactStore, LocalArtifactStore
from headrace.artifacts.utils import load_artifact, save_artifact
from headrace.client import Client
from headrace.exceptions import (
    ArtifactError,
    CompilationError,
    ConfigurationError,
    RunFailedError,
)
from headrace.utils.names import name_problem, path_component, printable

HOSTILE = ["../escape", "a/b", "a\\b", "..", "x\0y", "/etc/passwd", "bad\x1b[31mred", "line\nbreak"]


@step
def emit() -> str:
    print("something for the log")
    return "v"


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_step_ids_are_refused_at_compile_time(repo: Path, bad: str) -> None:
    @pipeline
    def p() -> None:
        emit(id=bad)

    with pytest.raises(CompilationError, match="invocation id") as info:
        p()
    assert "emit" in str(info.value)
    assert not list(repo.parent.glob("*.log"))


def test_dynamic_ids_computed_from_data_are_refused(repo: Path) -> None:
    @step
    def names() -> list[str]:
        return ["ok", "../../outside"]

    @pipeline(dynamic=True)
    def fan() -> None:
        for name in names().load():
            emit(id=name)

    with pytest.raises(RunFailedError, match="invocation id") as info:
        fan()
    run = Client().get_pipeline_run(info.value.run.id)  # type: ignore[attr-defined]
    assert run.status is ExecutionStatus.FAILED
    assert "ok" in run.steps and "../../outside" not in run.steps
    assert not (repo.parent / "outside.log").exists()
    assert not any(p.name.startswith("outside") for p in repo.parent.iterdir())


@pytest.mark.parametrize("bad", ["../up", "a/b", "ctl\x07"])
def test_hostile_output_names_are_refused(repo: Path, bad: str) -> None:
    def function() -> int:
        return 1

    # Set directly: a name computed at run time, as a generated step would have.
    function.__annotations__["return"] = Annotated[int, bad]
    named = step(function)

    @pipeline
    def p() -> None:
        named()

    with pytest.raises(CompilationError, match="output name"):
        p()


@pytest.mark.parametrize("bad", ["../up", "a/b", "tab\there"])
def test_hostile_run_names_are_refused(repo: Path, bad: str) -> None:
    @pipeline
    def p() -> None:
        emit()

    with pytest.raises(ConfigurationError, match="Run name"):
        p.with_options(run_name=bad)()


def test_artifact_names_are_encoded_in_paths(repo: Path) -> None:
    version = save_artifact(42, name="../../../outside")
    store_root = repo / ".headrace"
    assert Path(version.uri).resolve().is_relative_to(store_root.resolve())
    assert load_artifact("../../../outside") == 42
    with pytest.raises(ArtifactError, match="control characters"):
        save_artifact(1, name="evil\x1b]0;title\x07")


def test_local_artifact_store_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "root"))
    outside = str(tmp_path / "root" / ".." / "victim.txt")
    for operation in (
        lambda: store.open(outside, "w"),
        lambda: store.exists(str(tmp_path)),
        lambda: store.makedirs("/tmp/elsewhere"),
        lambda: store.rmtree(str(tmp_path)),
        lambda: store.rename(str(tmp_path / "root" / "a"), outside),
        lambda: store.copy_in(__file__, outside),
        lambda: store.open(str(tmp_path / "root" / "x\0y"), "w"),
    ):
        with pytest.raises(ArtifactError, match="outside the artifact store's root"):
            operation()
    assert not (tmp_path / "victim.txt").exists()
    inside = str(tmp_path / "root" / "sub" / "file.txt")
    with store.open(inside, "w") as handle:
        handle.write("fine")
    assert store.exists(inside)


def test_fsspec_artifact_store_refuses_paths_outside_its_root() -> None:
    store = FsspecArtifactStore("memory://bucket/root")
    with store.open("memory://bucket/root/ok.txt", "w") as handle:
        handle.write("ok")
    with pytest.raises(ArtifactError, match="outside"):
        store.open("memory://bucket/root/../other.txt", "w")
    with pytest.raises(ArtifactError, match="outside"):
        store.exists("memory://bucket/elsewhere")


def test_name_rules() -> None:
    assert name_problem("train_model.step-2") is None
    for bad in [*HOSTILE, "", "~home", "."]:
        assert name_problem(bad) is not None, bad
    assert "/" not in path_component("../a/b") and path_component("..") != ".."
    assert path_component("a/b") != path_component("a_b")
    assert printable("ok\x1b[2Jname\x9b") == "ok\\x1b[2Jname\\x9b"
    assert os.sep not in path_component("x" + os.sep + "y")
