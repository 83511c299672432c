"""Every run ends: signals, killed drivers, stop requests from other processes, resume.

The pipelines live in ``__main__`` scripts run as real processes (as users run them);
the test signals or kills them and reads the outcome through a fresh Client, as another
process would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headrace import ExecutionStatus
from headrace.client import Client
from headrace.exceptions import RunFailedError, RunResumeError
from headrace.models import PipelineRunRequest, PipelineRunResponse

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    from headrace import pipeline, step


    @step
    def first() -> int:
        with open("first.count", "a") as handle:
            handle.write("x")
        return 20


    @step
    def slow(x: int) -> int:
        Path("slow.started").write_text(str(os.getpid()))
        if Path("fast").exists():
            return x + 1
        if os.environ.get("DRIVER") != "thread":
            time.sleep(60)  # a blocking call: a signal interrupts it in the main thread
        else:  # a step off the main thread is interrupted at its next Python instruction
            for _ in range(1200):
                time.sleep(0.05)
        return x + 1


    @step
    def last(x: int) -> int:
        return x * 2


    PROCESSES = os.environ.get("MODE") == "processes"


    @pipeline(enable_cache=False, settings={"orchestrator": {"processes": PROCESSES}})
    def chain() -> int:
        return last(slow(first()))


    if __name__ == "__main__":
        if os.environ.get("DRIVER") == "thread":  # driven from another thread
            import threading

            driver = threading.Thread(target=chain, name="driver")
            driver.start()
            driver.join()
        else:
            chain()
    """
)


def _start(repo: Path, mode: str = "threads", driver: str = "main") -> subprocess.Popen[bytes]:
    (repo / "chain.py").write_text(SCRIPT)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MODE": mode}
    return subprocess.Popen(
        [sys.executable, "chain.py"],
        cwd=repo,
        env={**environment, "DRIVER": driver},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_slow(repo: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not (repo / "slow.started").exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.05)


def _only_run() -> PipelineRunResponse:
    (run,) = Client().list_pipeline_runs(size=5).items
    return run


def _assert_stopped(run: PipelineRunResponse) -> None:
    steps = run.steps
    assert run.status is ExecutionStatus.STOPPED, run.status_reason
    assert run.end_time is not None
    assert steps["first"].status is ExecutionStatus.COMPLETED
    assert steps["first"].output.load() == 20  # completed steps and artifacts are kept
    assert steps["slow"].status is ExecutionStatus.STOPPED
    assert steps["last"].status is ExecutionStatus.SKIPPED


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_sigterm_stops_the_run_and_then_ends_the_process(repo: Path, mode: str) -> None:
    process = _start(repo, mode)
    try:
        _wait_for_slow(repo, process)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == -signal.SIGTERM
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = _only_run()
    _assert_stopped(run)
    assert "SIGTERM" in (run.status_reason or "")


def test_sigint_stops_the_run_then_raises_keyboard_interrupt(repo: Path) -> None:
    process = _start(repo)
    try:
        _wait_for_slow(repo, process)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        assert code != 0
        assert process.stderr is not None
        assert b"KeyboardInterrupt" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _assert_stopped(_only_run())


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_signals_stop_a_run_driven_from_another_thread(repo: Path, mode: str) -> None:
    """The main thread's handler reaches the run a worker thread drives, waits for it
    to end ``stopped``, then ends the process as SIGTERM would have."""
    process = _start(repo, mode, driver="thread")
    try:
        _wait_for_slow(repo, process)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == -signal.SIGTERM
        assert time.monotonic() - started < 15
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = _only_run()
    _assert_stopped(run)
    assert "SIGTERM" in (run.status_reason or "")


def test_sigint_stops_a_run_driven_from_another_thread(repo: Path) -> None:
    process = _start(repo, driver="thread")
    try:
        _wait_for_slow(repo, process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) != 0
        assert process.stderr is not None
        assert b"KeyboardInterrupt" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _assert_stopped(_only_run())


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_a_killed_driver_leaves_a_failed_run_that_wait_returns(repo: Path, mode: str) -> None:
    process = _start(repo, mode)
    try:
        _wait_for_slow(repo, process)
        run = _only_run()
        deadline = time.monotonic() + 10
        while "slow" not in run.steps:  # its running record is written a moment later
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert run.status is ExecutionStatus.RUNNING
        assert run.driver_pid == process.pid
        process.kill()
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    ended = run.wait(timeout=10)
    assert ended.status is ExecutionStatus.FAILED
    assert f"pid {process.pid}" in ended.status_reason and "gone" in ended.status_reason
    steps = ended.steps
    assert steps["first"].status is ExecutionStatus.COMPLETED
    assert steps["first"].output.load() == 20
    assert steps["slow"].status is ExecutionStatus.FAILED


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_stop_from_another_process_is_noticed_within_seconds(repo: Path, mode: str) -> None:
    process = _start(repo, mode)
    try:
        _wait_for_slow(repo, process)
        run = _only_run()
        started = time.monotonic()
        Client().stop_pipeline_run(run.name)
        process.wait(timeout=30)
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stopped = _only_run()
    _assert_stopped(stopped)
    assert "on request" in (stopped.status_reason or "")


def test_a_graceful_stop_lets_the_running_step_finish(repo: Path) -> None:
    process = _start(repo)
    try:
        _wait_for_slow(repo, process)
        run = _only_run()
        Client().stop_pipeline_run(run.name, graceful=True)
        time.sleep(2.5)  # the driver has seen the request; now the step may finish
        (repo / "fast").write_text("")
        process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = _only_run()
    assert run.status is ExecutionStatus.STOPPED
    steps = run.steps
    assert steps["slow"].status is ExecutionStatus.COMPLETED
    assert steps["slow"].output.load() == 21
    assert steps["last"].status is ExecutionStatus.SKIPPED


def test_resume_reuses_completed_steps_even_without_cache(repo: Path) -> None:
    process = _start(repo)
    try:
        _wait_for_slow(repo, process)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    old = _only_run()
    (repo / "fast").write_text("")
    headrace = str(Path(sys.executable).parent / "headrace")
    result = subprocess.run(
        [headrace, "pipeline", "runs", "resume", old.name],
        cwd=repo,  # the steps are imported from the working tree, as they were
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    new = Client().list_pipeline_runs(size=1, sort_by="desc:created").items[0]
    assert new.id != old.id and new.resumed_from_run_id == old.id
    assert new.status is ExecutionStatus.COMPLETED
    steps = new.steps
    assert steps["first"].status is ExecutionStatus.CACHED
    assert steps["first"].original_step_run_id == old.steps["first"].id
    assert (repo / "first.count").read_text() == "x"  # not run again, though caching is off
    assert steps["last"].output.load() == 42
    with pytest.raises(RunResumeError, match="only a failed or stopped run"):
        Client().resume_pipeline_run(new.name)


def test_a_driver_on_another_host_is_judged_by_its_heartbeat(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Client().store
    stack = store.get_active_stack()
    run = store.create_run(
        PipelineRunRequest(
            id=str(uuid.uuid4()),
            name="elsewhere",
            pipeline_id=None,
            snapshot_id=None,
            stack_id=stack.id,
            status=ExecutionStatus.RUNNING,
            driver_host="another-host.invalid",
            driver_pid=1,
            heartbeat=datetime.now(UTC) - timedelta(seconds=30),
        )
    )
    assert Client().get_pipeline_run(run.id).status is ExecutionStatus.RUNNING  # 60 s limit
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "10")
    ended = Client().get_pipeline_run(run.id)
    assert ended.status is ExecutionStatus.FAILED
    assert "no heartbeat for more than 10 s" in (ended.status_reason or "")
    assert Client().list_pipeline_runs(size=5).items[0].status is ExecutionStatus.FAILED


def test_a_run_this_process_stopped_driving_is_ended_when_read(repo: Path) -> None:
    """A driver whose store refused the run's end: its own process ends it on the next read."""
    store = Client().store
    run = store.create_run(
        PipelineRunRequest(
            id=str(uuid.uuid4()),
            name="refused-end",
            pipeline_id=None,
            snapshot_id=None,
            stack_id=store.get_active_stack().id,
            status=ExecutionStatus.RUNNING,
            driver_host=socket.gethostname(),
            driver_pid=os.getpid(),
            heartbeat=datetime.now(UTC),
        )
    )
    ended = Client().get_pipeline_run(run.id)
    assert ended.status is ExecutionStatus.FAILED
    assert "stopped driving it" in (ended.status_reason or "")


def test_wait_raises_timeout_error_on_a_live_run(repo: Path) -> None:
    process = _start(repo)
    try:
        _wait_for_slow(repo, process)
        with pytest.raises(TimeoutError, match="did not finish within 0.3 s"):
            _only_run().wait(timeout=0.3)
    finally:
        process.kill()
        process.wait()


def test_stopping_an_ended_run_changes_nothing(repo: Path) -> None:
    (repo / "fast").write_text("")
    process = _start(repo)
    assert process.wait(timeout=120) == 0
    run = _only_run()
    assert Client().stop_pipeline_run(run.name).status is ExecutionStatus.COMPLETED
    assert _only_run().stop_requested is None


DYNAMIC = textwrap.dedent(
    """
    from pathlib import Path

    from headrace import pipeline, step


    def _count(name: str) -> None:
        with open(f"{name}.count", "a") as handle:
            handle.write("x")


    @step
    def size() -> int:
        _count("size")
        return 3


    @step
    def square(i: int) -> int:
        _count(f"square_{i}")
        if i == 2 and not Path("fixed").exists():
            raise ValueError("square 2 is broken")
        return i * i


    @step
    def shift(k: int) -> int:
        _count("shift")
        return k


    @step
    def scale(values: list[int], factor: int) -> int:
        return sum(values) * factor


    @pipeline(dynamic=True, enable_cache=False)
    def fan() -> int:
        factor = shift(int(Path("factor").read_text()))  # the function's own input
        squares = [square(i, id=f"square_{i}") for i in range(size().load())]
        return scale([s.load() for s in squares], factor)
    """
)


def test_resume_a_dynamic_run_reuses_matching_step_calls(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline function runs again; calls that match completed steps are answered
    from them (even with caching off), the failed one and a changed one run."""
    (repo / "dynamic_fan.py").write_text(DYNAMIC)
    (repo / "factor").write_text("10")
    monkeypatch.syspath_prepend(str(repo))
    import dynamic_fan  # type: ignore[import-not-found]

    with pytest.raises(RunFailedError):
        dynamic_fan.fan()
    old = Client().list_pipeline_runs(size=1, sort_by="desc:created").items[0]
    assert old.status is ExecutionStatus.FAILED
    (repo / "fixed").write_text("")
    new = Client().resume_pipeline_run(old.name)
    assert new.status is ExecutionStatus.COMPLETED
    assert new.resumed_from_run_id == old.id
    steps, old_steps = new.steps, old.steps
    for name in ("shift", "size", "square_0", "square_1"):
        assert steps[name].status is ExecutionStatus.CACHED, name
        assert steps[name].original_step_run_id == old_steps[name].id
        assert (repo / f"{name}.count").read_text() == "x", f"{name} ran again"
    assert steps["square_2"].status is ExecutionStatus.COMPLETED
    assert (repo / "square_2.count").read_text() == "xx"
    assert new.outputs and int(next(iter(new.outputs.values())).load()) == 50

    # A stopped or failed run whose function now calls a step differently: that call
    # runs, the matching ones are still reused.
    (repo / "fixed").unlink()
    (repo / "square_2.count").unlink()
    with pytest.raises(RunFailedError):
        dynamic_fan.fan.with_options(run_name="second")()
    failed = Client().get_pipeline_run("second")
    (repo / "fixed").write_text("")
    (repo / "factor").write_text("2")
    resumed = Client().resume_pipeline_run(failed.name)
    assert resumed.status is ExecutionStatus.COMPLETED
    assert resumed.steps["square_1"].status is ExecutionStatus.CACHED
    assert resumed.steps["shift"].status is ExecutionStatus.COMPLETED  # k changed: ran
    assert (repo / "shift.count").read_text() == "xxx"
    assert int(next(iter(resumed.outputs.values())).load()) == 10
