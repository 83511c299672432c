"""Two processes run pipelines against one SQLite store at the same time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from headrace.client import Client
from headrace.enums import ExecutionStatus

SCRIPT = textwrap.dedent(
    """
    import sys
    from headrace import pipeline, step

    @step(enable_cache=False)
    def inc(x: int) -> int:
        return x + 1

    @step(enable_cache=False)
    def fan_in(values: list[int]) -> int:
        return sum(values)

    @pipeline(enable_cache=False)
    def shared(n: int, seed: int) -> None:
        x = inc(seed)
        branches = []
        for _ in range(n):
            x = inc(x)
            branches.append(inc(x))
        fan_in(branches)

    if __name__ == "__main__":
        for i in range(int(sys.argv[2])):
            run = shared(n=15, seed=int(sys.argv[1]) * 1000 + i)
            assert run.status.value == "completed", run.status
        print("ok")
    """
)


def test_two_processes_share_one_store(repo: Path) -> None:
    script = repo / "sharing_worker.py"
    script.write_text(SCRIPT)
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(worker), "4"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in (1, 2)
    ]
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        assert out.strip() == "ok"

    client = Client()
    runs = client.list_pipeline_runs(pipeline_name="shared", size=100)
    assert runs.total == 8
    assert all(run.status is ExecutionStatus.COMPLETED for run in runs)
    for run in runs:
        assert len(run.steps) == 32
    versions = client.list_artifact_versions(artifact_name="shared::fan_in::output", size=100)
    assert sorted(int(v.version) for v in versions) == list(range(1, 9))
