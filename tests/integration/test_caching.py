"""Cache keys: each part invalidates, ignored parts do not, dead references re-run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.config import CachePolicy

CALLS: list[str] = []
C, K = ExecutionStatus.COMPLETED, ExecutionStatus.CACHED


@step
def produce(n: int) -> list[int]:
    CALLS.append("produce")
    return list(range(n))


@step
def consume(values: list[int], scale: int = 1) -> int:
    CALLS.append("consume")
    return sum(values) * scale


def statuses(run) -> dict[str, ExecutionStatus]:  # type: ignore[no-untyped-def]
    return {name: s.status for name, s in run.steps.items()}


@pipeline
def cached_pipeline(n: int = 3, scale: int = 1) -> None:
    consume(produce(n), scale=scale)


def test_second_run_is_all_cache_hits_and_runs_no_function(repo: Path) -> None:
    first = cached_pipeline()
    CALLS.clear()
    second = cached_pipeline()
    assert statuses(first) == {"produce": C, "consume": C}
    assert statuses(second) == {"produce": K, "consume": K}
    assert CALLS == []
    assert second.steps["consume"].output.load() == 3
    assert second.steps["consume"].original_step_run_id == first.steps["consume"].id
    assert second.steps["consume"].output.id == first.steps["consume"].output.id


def test_a_parameter_change_reruns_only_that_step(repo: Path) -> None:
    cached_pipeline()
    run = cached_pipeline(scale=2)
    assert statuses(run) == {"produce": K, "consume": C}
    assert run.steps["consume"].output.load() == 6


def test_input_content_change_reruns_downstream(repo: Path) -> None:
    cached_pipeline(n=3)
    run = cached_pipeline(n=4)
    assert statuses(run) == {"produce": C, "consume": C}


def test_same_content_from_a_rerun_upstream_still_hits(repo: Path) -> None:
    @step(enable_cache=False)
    def fresh_source() -> list[int]:
        return [1, 2, 3]

    @pipeline
    def p() -> None:
        consume(fresh_source())

    p()
    run = p()
    assert statuses(run) == {"fresh_source": C, "consume": K}  # values, not ids, by default


def test_artifact_ids_in_the_key_when_asked(repo: Path) -> None:
    @step(enable_cache=False)
    def fresh_source() -> list[int]:
        return [1, 2, 3]

    @pipeline(cache_policy=CachePolicy(include_artifact_ids=True))
    def p() -> None:
        consume(fresh_source())

    p()
    assert statuses(p())["consume"] is C


def test_ignored_parameters_do_not_invalidate(repo: Path) -> None:
    @pipeline(cache_policy=CachePolicy(ignore_fields=["scale"]))
    def p(scale: int) -> None:
        consume(produce(3), scale=scale)

    p(scale=1)
    run = p(scale=5)
    assert statuses(run)["consume"] is K
    assert run.steps["consume"].output.load() == 3  # the cached result, by design


def test_parameters_out_of_the_key(repo: Path) -> None:
    @pipeline(cache_policy=CachePolicy(include_step_parameters=False))
    def p(scale: int) -> None:
        consume(produce(3), scale=scale)

    p(scale=1)
    assert statuses(p(scale=9))["consume"] is K


def test_artifact_values_out_of_the_key(repo: Path) -> None:
    @pipeline(cache_policy=CachePolicy(include_artifact_values=False))
    def p(n: int) -> None:
        consume(produce(n))

    p(n=3)
    assert statuses(p(n=4)) == {"produce": C, "consume": K}


def test_enable_cache_precedence_step_over_pipeline(repo: Path) -> None:
    @step(enable_cache=True)
    def always_cached() -> int:
        return 1

    @pipeline(enable_cache=False)
    def p() -> None:
        always_cached()
        produce(2)

    p()
    assert statuses(p()) == {"always_cached": K, "produce": C}
    off = p.with_options(steps={"always_cached": {"enable_cache": False}})
    assert statuses(off())["always_cached"] is C
    produce.configure(enable_cache=True)
    try:
        assert statuses(p())["produce"] is C  # first run with caching on for it
        assert statuses(p())["produce"] is K
    finally:
        produce.configure(enable_cache=None)


@pytest.mark.usefixtures("artifacts_as_files")  # checks the files themselves
def test_deleted_artifacts_rerun_instead_of_a_dead_reference(repo: Path) -> None:
    first = cached_pipeline()
    shutil.rmtree(first.steps["produce"].output.uri)
    CALLS.clear()
    second = cached_pipeline()
    assert statuses(second)["produce"] is C
    assert "produce" in CALLS
    assert second.steps["produce"].output.load() == [0, 1, 2]


def test_max_age(repo: Path) -> None:
    @pipeline(cache_policy=CachePolicy(expires_after=1))
    def p() -> None:
        produce(2)

    p()
    assert statuses(p())["produce"] is K
    import time

    time.sleep(1.2)
    assert statuses(p())["produce"] is C


PROJECT_STEP = textwrap.dedent(
    """
    import sys
    from headrace import pipeline, step
    from helpers import transform

    @step
    def work(x: int) -> int:
        return transform(x)

    @pipeline
    def project_pipeline() -> None:
        work(2)

    if __name__ == "__main__":
        run = project_pipeline()
        step_run = run.steps["work"]
        print(step_run.status.value, step_run.output.load())
    """
)


def _run_project(repo: Path) -> str:
    result = subprocess.run(
        [sys.executable, "run.py"], cwd=repo, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_editing_a_project_helper_invalidates_the_cache(repo: Path) -> None:
    (repo / "run.py").write_text(PROJECT_STEP)
    (repo / "helpers.py").write_text("def transform(x):\n    return x * 10\n")
    assert _run_project(repo) == "completed 20"
    assert _run_project(repo) == "cached 20"
    # Comments and docstrings are not code: still cached.
    (repo / "helpers.py").write_text(
        'def transform(x):\n    """Scale."""\n    # ten times\n    return x * 10\n'
    )
    assert _run_project(repo) == "cached 20"
    (repo / "helpers.py").write_text("def transform(x):\n    return x * 100\n")
    assert _run_project(repo) == "completed 200"


def test_file_dependencies_invalidate(repo: Path) -> None:
    data = repo / "data.csv"
    data.write_text("a,b\n1,2\n")

    @step(cache_policy=CachePolicy(file_dependencies=["data.csv"]))
    def read_rows() -> int:
        return len(data.read_text().splitlines())

    @pipeline
    def p() -> None:
        read_rows()

    p()
    assert statuses(p())["read_rows"] is K
    data.write_text("a,b\n1,2\n3,4\n")
    run = p()
    assert statuses(run)["read_rows"] is C and run.steps["read_rows"].output.load() == 3


def test_source_dependencies_invalidate(repo: Path) -> None:
    (repo / "extra_dep.py").write_text("VERSION = 1\n\ndef marker():\n    return 1\n")
    sys.path.insert(0, str(repo))
    try:

        @step(cache_policy=CachePolicy(source_dependencies=["extra_dep.marker"]))
        def uses_nothing() -> int:
            return 1

        @pipeline
        def p() -> None:
            uses_nothing()

        p()
        assert statuses(p())["uses_nothing"] is K
        (repo / "extra_dep.py").write_text("VERSION = 1\n\ndef marker():\n    return 2\n")
        import importlib

        import extra_dep

        importlib.reload(extra_dep)
        assert statuses(p())["uses_nothing"] is C
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("extra_dep", None)


def test_environment_and_output_materializer_are_in_the_key(repo: Path) -> None:
    from headrace.materializers.built_in_materializer import BuiltInContainerMaterializer

    class ListAsJson(BuiltInContainerMaterializer):
        """The same format under another class: a different materializer for the key."""

        SKIP_REGISTRATION = True

    @pipeline
    def p() -> None:
        produce(2)

    p()
    assert statuses(p())["produce"] is K
    assert statuses(p.with_options(environment={"MODE": "a"})())["produce"] is C
    assert statuses(p.with_options(environment={"MODE": "a"})())["produce"] is K
    produce.configure(output_materializers=ListAsJson)
    try:
        assert statuses(p())["produce"] is C
    finally:
        produce.output_materializers.clear()
