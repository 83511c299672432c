"""Process mode: steps run in spawned workers that never outlive the run's process.

The pipeline lives in a ``__main__`` script (as users write them), and the test kills
that script's process with SIGKILL while a step runs: its worker must end too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from headrace import pipeline, step


    @step(enable_cache=False)
    def where() -> int:
        return os.getpid()


    @step(enable_cache=False)
    def hangs(pid: int) -> int:
        Path("worker.pid").write_text(str(os.getpid()))
        time.sleep(120)
        return pid


    @pipeline(enable_cache=False, settings={"orchestrator": {"processes": True}})
    def long_running() -> None:
        hangs(where())


    if __name__ == "__main__":
        long_running()
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is a POSIX signal")
def test_killing_the_run_process_ends_its_step_workers(repo: Path) -> None:
    (repo / "run_it.py").write_text(SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, "run_it.py"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        start_new_session=True,
    )
    pid_file = repo / "worker.pid"
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None, "the run ended before its step started"
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert worker != parent.pid and _alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(worker):
            assert time.monotonic() < deadline, f"worker {worker} outlived its parent"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
