"""Seeded fault injection: the driver of a run is killed with SIGKILL at random moments.

Chain and fan-out runs, on threads and on worker processes, are started as real
processes; once its first step started the test waits a seeded random time and kills
the driver. After every fault:

- the SQLite database passes ``pragma integrity_check``;
- every completed step's output loads with the value its inputs and parameters imply;
- no run is left unended (a short heartbeat limit; a killed driver on this host is
  noticed at once by its pid);
- every entry below ``runs/`` of the artifact store is either recorded or found by
  ``headrace clean``'s scan (which never lists a recorded one), and cleaning it keeps
  every completed output loadable;
- a cached rerun gives the right result.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_kit import (
    DRIVER,
    MIN_PAUSE_S,
    arguments_for,
    check_leftovers,
    check_outputs,
    expected,
    integrity,
    load_output,
    pipelines,
    started_pids,
)

from headrace import ExecutionStatus

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is a POSIX signal")

FAULTS = 20
SEED = 20261202


@pytest.mark.slow
def test_killing_the_driver_at_random_moments_loses_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_RUN_HEARTBEAT_TIMEOUT", "5")
    (repo / "fault_pipelines.py").write_text(pipelines("progress"))
    (repo / "drive.py").write_text(DRIVER)
    monkeypatch.syspath_prepend(str(repo))
    import fault_pipelines  # type: ignore[import-not-found]

    database = repo / ".headrace" / "headrace.db"
    artifacts = repo / ".headrace" / "artifacts"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), *sys.path])}
    rng = random.Random(SEED)
    injected = cleaned = checked = cached = 0
    seen: set[str] = set()
    started = time.monotonic()
    for fault in range(FAULTS):
        shape = rng.choice(["chain", "fan"])
        mode = "processes" if fault % 5 == 4 else "threads"
        arguments = arguments_for(rng, shape)
        (repo / "progress").unlink(missing_ok=True)
        driver = subprocess.Popen(
            [sys.executable, "drive.py", shape, mode, json.dumps(arguments)],
            cwd=repo,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # The kill follows a seeded random step's start by a seeded fraction of the
            # shortest step: the moment is random within the run, never after its end.
            steps = len(arguments["pauses"])  # type: ignore[arg-type]
            kill_after = rng.randrange(1, steps + 1)
            deadline = time.monotonic() + 60
            while driver.poll() is None and len(started_pids(repo / "progress")) < kill_after:
                assert time.monotonic() < deadline, "the driver never reached its step"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, MIN_PAUSE_S / 2))
            if driver.poll() is None:  # else it finished first: nothing to inject
                driver.send_signal(signal.SIGKILL)
                injected += 1
        finally:
            driver.kill()
            driver.wait()
        assert integrity(database) == "ok"
        killed_runs = set(seen)
        checked += check_outputs(seen)
        cleaned += check_leftovers(artifacts)
        assert check_outputs(killed_runs) >= 0  # cleaning kept completed outputs loadable
        rerun = getattr(fault_pipelines, shape)(**arguments)
        seen.add(rerun.id)
        assert rerun.status is ExecutionStatus.COMPLETED
        assert load_output(rerun) == expected(shape, arguments)
        cached += sum(s.status is ExecutionStatus.CACHED for s in rerun.steps.values())
    assert injected >= FAULTS * 3 // 4, f"only {injected} kills landed while a run went on"
    assert cached > 0, "no cached rerun reused a step the killed runs completed"
    print(
        f"{injected} SIGKILL faults in {FAULTS} runs, {checked} completed "
        f"outputs verified, {cleaned} leftovers cleaned, {cached} steps reused by cached "
        f"reruns, in {time.monotonic() - started:.1f} s"
    )
