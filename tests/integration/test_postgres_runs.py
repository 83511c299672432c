"""Real pipelines with their metadata on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.client import Client
from headrace.exceptions import RunFailedError
from headrace.store.factory import forget_stores, get_store


@pytest.fixture
def pg_repo(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEADRACE_STORE_URL", postgres_url)
    monkeypatch.setenv("HEADRACE_SOURCE_ROOT", str(tmp_path))
    forget_stores()
    get_store(postgres_url, str(tmp_path / "artifacts")).get_default_stack()
    yield tmp_path
    forget_stores()


@step(enable_cache=False)
def number(n: int) -> int:
    return n


@step
def total(values: list[int]) -> int:
    return sum(values)


@step(enable_cache=False)
def explode(x: int) -> int:
    raise ValueError(f"bad {x}")


def test_runs_cache_and_failures_on_postgres(pg_repo: Path) -> None:
    @pipeline
    def fan_in() -> None:
        total([number(i, id=f"n{i}") for i in range(6)])

    first = fan_in()
    assert first.status is ExecutionStatus.COMPLETED
    assert first.steps["total"].output.load() == 15
    second = fan_in()
    assert second.steps["total"].status is ExecutionStatus.CACHED
    assert Client().store.url.startswith("postgresql")

    @pipeline(enable_cache=False)
    def failing() -> None:
        explode(number(3))

    with pytest.raises(RunFailedError, match="explode"):
        failing()
    run = Client().get_pipeline("failing").last_run
    assert run.steps["explode"].error is not None
    assert run.steps["number"].output.load() == 3
    assert Client().get_pipeline_run(run.id[:8]).id == run.id


PROJECT = textwrap.dedent(
    """
    import sys
    from headrace import pipeline, step

    @step(enable_cache=False)
    def inc(x: int = 0) -> int:
        return x + 1

    @pipeline(enable_cache=False)
    def shared(seed: int = 0):
        x = inc(seed)
        for _ in range(10):
            x = inc(x)

    if __name__ == "__main__":
        for i in range(3):
            assert shared(seed=int(sys.argv[1]) + i).status.value == "completed"
        print("ok")
    """
)


def test_two_processes_and_a_snapshot_on_postgres(pg_repo: Path) -> None:
    (pg_repo / "project.py").write_text(PROJECT)
    workers = [
        subprocess.Popen(
            [sys.executable, "project.py", str(seed)],
            cwd=pg_repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (0, 1000)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    versions = Client().list_artifact_versions(artifact_name="shared::inc::output", size=50)
    assert sorted(int(v.version) for v in versions) == list(range(1, 7))

    sys.path.insert(0, str(pg_repo))
    try:
        import project

        project.shared.create_snapshot(name="shared-nightly")
    finally:
        sys.path.remove(str(pg_repo))
        sys.modules.pop("project", None)
    run = (
        Client()
        .trigger_pipeline(
            snapshot_name_or_id="shared-nightly",
            run_configuration={"steps": {"inc": {"parameters": {"x": 100}}}},
        )
        .wait(timeout=60)
    )
    assert run.status is ExecutionStatus.COMPLETED, run.status_reason
    assert run.steps["inc_11"].output.load() == 111
