"""The orchestrator conformance suite: the same graph shapes, failures, execution modes,
dynamic runs and caching on every orchestrator backend, with SQLite and with PostgreSQL
as the store.

To add a backend, add a ``Backend`` to ``BACKENDS``: the pipeline settings that select it,
the fixtures it needs (e.g. a running cluster, which may also make it the active
stack's orchestrator) and the stores it runs with.

Pipelines are defined at module level (dynamic ones included): a backend whose driver
runs in another process (a Kubernetes driver pod) imports the pipeline function there.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel

from headrace import ExecutionMode, ExecutionStatus, pipeline, step
from headrace.exceptions import RunFailedError
from headrace.execution.orchestrators.base import BaseOrchestrator
from headrace.execution.step_task import StepResult, StepTask
from ray_cluster import RAY_GROUP, use_ray_orchestrator
from s3_server import s3_bucket, s3_endpoint, use_s3_artifact_store  # noqa: F401 - fixtures


@step(enable_cache=False)
def leaf(value: int) -> int:
    return value


@step(enable_cache=False)
def combine(values: list[int]) -> int:
    return sum(values)


@step(enable_cache=False)
def double(value: int) -> int:
    return value * 2


def chain(width: int) -> None:
    x = leaf(1)
    for _ in range(width):
        x = double(x)


def fan_out_fan_in(width: int) -> None:
    source = leaf(1)
    combine([double(source, id=f"branch_{i}") for i in range(width)])


def diamond(width: int) -> None:
    top = leaf(3)
    left = double(top, id="left")
    right = double(top, id="right")
    combine([left, right], id="bottom")


def branchless(width: int) -> None:
    for i in range(width):
        leaf(i, id=f"alone_{i}")


SHAPES: dict[str, tuple[Callable[[int], None], dict[str, Any]]] = {
    "chain": (chain, {"double_4": 16}),
    "fan_out_fan_in": (fan_out_fan_in, {"combine": 8}),
    "diamond": (diamond, {"bottom": 12}),
    "branchless": (branchless, {"alone_3": 3}),
}


def _shape_pipeline(shape: str, dynamic: bool) -> Callable[..., None]:
    build = SHAPES[shape][0]

    def body(width: int = 4) -> None:
        build(width)

    body.__name__ = body.__qualname__ = f"{shape}_{'dynamic' if dynamic else 'static'}"
    return body


SHAPE_PIPELINES = {
    (shape, dynamic): _shape_pipeline(shape, dynamic)
    for shape in SHAPES
    for dynamic in (False, True)
}
globals().update({body.__name__: body for body in SHAPE_PIPELINES.values()})  # importable


class Backend(NamedTuple):
    """How the suite runs pipelines on one orchestrator backend."""

    settings: dict[str, Any]  # the pipeline's ``orchestrator`` settings
    fixtures: tuple[str, ...] = ()  # fixtures to request first (a cluster, a stack, ...)
    marks: tuple[pytest.MarkDecorator, ...] = ()
    stores: tuple[str, ...] = ("sqlite", "postgresql")  # the stores it runs with


BACKENDS: dict[str, Backend] = {
    "threads": Backend({}),
    "processes": Backend({"processes": True, "max_parallelism": 3}),
    # a real two-node Ray cluster, made the repository's active stack's orchestrator
    "ray": Backend({}, ("ray_orchestrator",), (RAY_GROUP,)),
    # the same cluster with artifacts, logs and code in S3 (moto's server on 127.0.0.1);
    # the store adds nothing there, so SQLite only
    "ray-s3": Backend({}, ("ray_on_s3",), (RAY_GROUP,), ("sqlite",)),
    # the fake Kubernetes API server (tests/kube_api_server.py), whose kubelet runs each
    # pod's command as a local process: client -> driver pod -> a pod per step (default)
    "kubernetes": Backend({}, ("kubernetes_stack",)),
    # the other two placements, on SQLite only (a process per pod is the cost of these
    # tests; the store's code paths are the default one's): client -> a pod per step
    # (the launching process drives the run), and client -> driver pod running every step
    "kubernetes-from-client": Backend(
        {"driver_pod": False}, ("kubernetes_stack",), (), ("sqlite",)
    ),
    "kubernetes-in-driver": Backend(
        {"run_steps_in_driver": True}, ("kubernetes_stack",), (), ("sqlite",)
    ),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each backend with each of its stores (tests that take ``any_store``), or once."""
    if "backend" not in metafunc.fixturenames:
        if "any_store" in metafunc.fixturenames:
            metafunc.parametrize("any_store", ["sqlite", "postgresql"], indirect=True)
        return
    if "any_store" not in metafunc.fixturenames:
        metafunc.parametrize(
            "backend",
            [pytest.param(name, marks=BACKENDS[name].marks, id=name) for name in BACKENDS],
            indirect=True,
        )
        return
    metafunc.parametrize(
        ("any_store", "backend"),
        [
            pytest.param(store, name, marks=chosen.marks, id=f"{store}-{name}")
            for name, chosen in BACKENDS.items()
            for store in chosen.stores
        ],
        indirect=True,
    )


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Pipeline settings that run steps on one backend."""
    chosen = BACKENDS[request.param]
    for fixture in chosen.fixtures:
        request.getfixturevalue(fixture)
    return {"orchestrator": dict(chosen.settings)}


@pytest.fixture
def ray_on_s3(ray_address: str, s3_endpoint: str, s3_bucket: str) -> str:  # noqa: F811
    """The current repository's active stack: the session's Ray cluster, artifacts in a
    fresh S3 bucket (request it after the fixture that makes the repository)."""
    (Path.cwd() / "pyproject.toml").write_text("[project]\nname = 'conformance'\n")
    path = use_s3_artifact_store(s3_endpoint, s3_bucket)
    use_ray_orchestrator(ray_address)
    return path


@pytest.fixture
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh repository whose store is SQLite or a real PostgreSQL database."""
    from headrace.store.factory import forget_stores, get_store, init_repository

    monkeypatch.chdir(tmp_path)
    if request.param == "sqlite":
        init_repository(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("HEADRACE_STORE_URL", url)
        monkeypatch.setenv("HEADRACE_SOURCE_ROOT", str(tmp_path))
        forget_stores()
        get_store(url, str(tmp_path / "artifacts")).get_default_stack()
    try:
        yield tmp_path
    finally:
        forget_stores()


def _check_order(steps: dict[str, Any]) -> None:
    """Every step started after what it read had ended."""
    for step_run in steps.values():
        for versions in step_run.inputs.values():
            for version in versions:
                producer = next(s for s in steps.values() if s.id == version.producer_step_run_id)
                assert producer.end_time is not None and step_run.start_time is not None
                assert producer.end_time <= step_run.start_time


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shapes_run_the_same_everywhere(
    any_store: Path, backend: dict[str, Any], shape: str, dynamic: bool
) -> None:
    expected = SHAPES[shape][1]
    body = SHAPE_PIPELINES[(shape, dynamic)]
    run = pipeline(enable_cache=False, dynamic=dynamic, settings=backend)(body)()
    assert run.status is ExecutionStatus.COMPLETED
    steps = run.steps
    assert all(s.status is ExecutionStatus.COMPLETED for s in steps.values())
    for name, value in expected.items():
        assert steps[name].output.load() == value
    _check_order(steps)


def _body_of(shape: str, build: Callable[[int], None]) -> Callable[..., None]:
    def body(width: int = 4) -> None:
        build(width)

    body.__name__ = body.__qualname__ = f"{shape}_one_thread"
    return body


def test_one_thread_runs_every_shape(repo: Path) -> None:
    for shape, (build, expected) in SHAPES.items():
        body = _body_of(shape, build)
        settings = {"orchestrator": {"max_parallelism": 1}}
        run = pipeline(enable_cache=False, settings=settings)(body)()
        assert run.status is ExecutionStatus.COMPLETED
        for name, value in expected.items():
            assert run.steps[name].output.load() == value
        _check_order(run.steps)


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds  # short sleeps: an interrupt fires at the next one
    while time.monotonic() < end:
        time.sleep(0.01)


@step(enable_cache=False)
def breaks(value: int) -> int:
    _busy(0.3)
    raise RuntimeError("breaks on purpose")


@step(enable_cache=False)
def slow(value: int) -> int:
    _busy(4.0)
    return value


C, F, S, X = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.SKIPPED,
    ExecutionStatus.STOPPED,
)
EXPECTED_BY_MODE = {
    # breaks fails while slow runs: after_breaks never starts; after_slow only without a stop
    ExecutionMode.CONTINUE_ON_FAILURE: {"breaks": F, "after_breaks": S, "slow": C, "after_slow": C},
    ExecutionMode.STOP_ON_FAILURE: {"breaks": F, "after_breaks": S, "slow": C, "after_slow": S},
    ExecutionMode.FAIL_FAST: {"breaks": F, "after_breaks": S, "slow": X, "after_slow": S},
}


@pytest.mark.parametrize("mode", list(EXPECTED_BY_MODE), ids=lambda m: m.value)
def test_failures_follow_the_execution_mode(
    any_store: Path, backend: dict[str, Any], mode: ExecutionMode
) -> None:
    @pipeline(enable_cache=False, execution_mode=mode, settings=backend)
    def failing() -> None:
        top = leaf(1)
        double(breaks(top), id="after_breaks")
        double(slow(top), id="after_slow")

    with pytest.raises(RunFailedError, match="breaks on purpose") as info:
        failing()
    run = info.value.run  # type: ignore[attr-defined]
    statuses = {name: s.status for name, s in run.steps.items()}
    assert statuses == {"leaf": C, **EXPECTED_BY_MODE[mode]}
    assert run.status is ExecutionStatus.FAILED
    if mode is ExecutionMode.FAIL_FAST:  # nothing half-written of the stopped step remains
        from headrace.artifacts.loading import artifact_store_of

        artifact_store = artifact_store_of(run.store, run.stack_id)
        directory = artifact_store.join(artifact_store.path, "runs", run.id)
        assert run.steps["leaf"].output.load() is not None  # the other steps' outputs are there
        # (small outputs are kept inline in their records: the directory may not exist)
        entries = artifact_store.listdir(directory) if artifact_store.exists(directory) else []
        assert not [e for e in entries if e.startswith("slow.")]


@step(enable_cache=False)
def maybe_breaks(value: int) -> int:
    if value < 0:
        raise ValueError("negative")
    return value


def decides() -> None:
    first = leaf(3)
    if first.load() == 3:  # waits for the step, wherever it ran
        double(first, id="taken")
    else:
        leaf(0, id="not_taken")


def reads_a_failure() -> None:
    broken = maybe_breaks(-1)
    broken.load()
    leaf(1, id="never")


def test_dynamic_runs_wait_for_loaded_outputs(any_store: Path, backend: dict[str, Any]) -> None:
    run = pipeline(enable_cache=False, dynamic=True, settings=backend)(decides)()
    assert set(run.steps) == {"leaf", "taken"}
    assert run.steps["taken"].output.load() == 6

    with pytest.raises(RunFailedError) as info:
        pipeline(enable_cache=False, dynamic=True, settings=backend)(reads_a_failure)()
    run = info.value.run  # type: ignore[attr-defined]
    assert run.steps["maybe_breaks"].status is F
    assert "never" not in run.steps


CALLS: list[int] = []


@step
def cached_square(value: int) -> int:
    CALLS.append(value)
    return value * value


@step
def cached_sum(values: list[int]) -> int:
    return sum(values)


def test_caching_is_the_same_everywhere(any_store: Path, backend: dict[str, Any]) -> None:
    @pipeline(settings=backend)
    def squares() -> None:
        cached_sum([cached_square(i, id=f"square_{i}") for i in range(3)])

    first = squares()
    second = squares()
    assert first.status is second.status is ExecutionStatus.COMPLETED
    assert {s.status for s in first.steps.values()} == {C}
    assert {s.status for s in second.steps.values()} == {ExecutionStatus.CACHED}
    assert second.steps["cached_sum"].output.load() == 5
    assert second.steps["cached_sum"].output.id == first.steps["cached_sum"].output.id


_threads: list[int] = []


@step(enable_cache=False)
def where(value: int) -> int:
    import threading

    _threads.append(threading.get_ident())
    return value


def test_a_chain_runs_in_the_calling_thread_and_branches_in_a_pool(repo: Path) -> None:
    import threading

    @pipeline(enable_cache=False)
    def thread_chain() -> None:
        where(where(where(1)))

    @pipeline(enable_cache=False)
    def thread_branches() -> None:
        top = where(1)
        where(top, id="left")
        where(top, id="right")

    _threads.clear()
    assert thread_chain().status is ExecutionStatus.COMPLETED
    assert _threads == [threading.get_ident()] * 3
    _threads.clear()
    assert thread_branches().status is ExecutionStatus.COMPLETED
    assert _threads[0] == threading.get_ident()
    assert threading.get_ident() not in _threads[1:] and len(_threads) == 3


class NoConfig(BaseModel):
    """The test orchestrator takes no options."""


class OneProcessPerStep(BaseOrchestrator):
    """An orchestrator written only against the public interface: each task goes as JSON
    to ``python -m headrace.execution.step_entrypoint -`` with the run's code archive,
    the way a remote backend runs steps."""

    runs_in_process = False
    needs_code_archive = True

    def __init__(self, config: BaseModel) -> None:
        super().__init__(config)
        self.results: queue.Queue[StepResult] = queue.Queue()
        self.tasks: list[StepTask] = []
        self.threads: list[threading.Thread] = []

    def prepare(self, run: Any, run_in_process: Any) -> None:
        self.run_id = run.run.id

    def submit(self, task: StepTask) -> None:
        self.tasks.append(task)
        thread = threading.Thread(target=self._run, args=(task.to_json(),))
        self.threads.append(thread)
        thread.start()

    def _run(self, text: str) -> None:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run(
            [sys.executable, "-m", "headrace.execution.step_entrypoint", "-"],
            input=text,
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        self.results.put(StepResult.from_json(done.stdout))

    def wait(self, timeout: float | None) -> list[StepResult]:
        results = [self.results.get(timeout=timeout)]
        while not self.results.empty():
            results.append(self.results.get())
        return results

    def stop(self, graceful: bool) -> None:
        """Steps of this test orchestrator are short; nothing to interrupt."""

    def close(self) -> None:
        for thread in self.threads:
            thread.join()


@step(enable_cache=False)
def where_am_i(value: int) -> int:
    print(f"running in {os.getpid()}")
    return os.getpid() + value * 0


def test_a_step_task_runs_from_json_in_a_fresh_process_with_archived_code(repo: Path) -> None:
    from headrace.dsl.compiler import compile_pipeline
    from headrace.execution.launcher import launch
    from headrace.store.factory import get_store

    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")

    @pipeline(enable_cache=False)
    def remote() -> None:
        double(leaf(where_am_i(1), id="leaf"), id="double")

    orchestrator = OneProcessPerStep(NoConfig())
    run = launch(get_store(), compile_pipeline(remote), orchestrator=orchestrator)
    assert run.status is ExecutionStatus.COMPLETED
    pid = run.steps["where_am_i"].output.load()
    assert pid != os.getpid()
    assert f"running in {pid}" in run.steps["where_am_i"].logs
    assert run.steps["double"].output.load() == 2 * pid
    task = orchestrator.tasks[-1]
    assert task.code is not None and task.code.uri.endswith(f"{task.code.digest}.tar.gz")
    again = StepTask.from_json(task.to_json())
    assert again.to_dict() == task.to_dict()
    assert [r.artifact_version_id for r in again.inputs["value"]] == [run.steps["leaf"].output.id]


@step(enable_cache=False)
def sees_itself_running() -> str:
    """Polls the store (not through the step context, which would write pending
    records first) until its own step run shows as running."""
    from headrace import get_step_context
    from headrace.client import Client
    from headrace.exceptions import EntityNotFoundError

    step_run_id = get_step_context().step_run_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if Client().get_run_step(step_run_id).status is ExecutionStatus.RUNNING:
                return "seen running"
        except EntityNotFoundError:  # its "running" record is not written yet
            pass
        time.sleep(0.02)
    return "never seen running"


def test_a_step_that_runs_a_while_shows_as_running(repo: Path, backend: dict[str, Any]) -> None:
    """A short step writes its start and end in one transaction; one that runs longer
    is recorded as running while it runs, on every backend."""

    @pipeline(enable_cache=False, settings=backend)
    def watched() -> None:
        sees_itself_running()

    run = watched()
    assert run.status is ExecutionStatus.COMPLETED
    assert run.steps["sees_itself_running"].output.load() == "seen running"
