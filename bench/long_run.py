"""A long chain run as a whole script, and ``headrace run show`` of that run.

Issue 9's targets: a 10,000-step chain run as ``python script.py`` in at most 5 s with a
peak RSS of at most 200 MiB, and ``headrace run show`` of that run in at most 1 s. Run
from a fresh repository (``headrace init``) as the current directory; prints one JSON
line. ``LONG_CHAIN_STEPS`` changes the length. Wall times on a shared machine depend on
its load: the user CPU time is reported next to them for that reason.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys
from headrace import pipeline, step


@step(enable_cache=False)
def inc(x: int) -> int:
    return x + 1


@pipeline(enable_cache=False)
def long_chain(n: int) -> None:
    x = inc(0)
    for _ in range(n - 1):
        x = inc(x)


if __name__ == "__main__":
    print("RUN", long_chain(int(sys.argv[1])).name)
"""


def _timed(command: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, user CPU seconds, peak RSS (MiB) and stdout of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the largest child so far: run the biggest first.
    return wall, after.ru_utime - before.ru_utime, after.ru_maxrss / 1024, done.stdout


def main() -> None:
    steps = int(os.environ.get("LONG_CHAIN_STEPS", "10000"))
    repo = Path.cwd()
    (repo / "long_chain.py").write_text(SCRIPT)
    environment = {**os.environ, "HEADRACE_LOGGING_VERBOSITY": "WARNING"}
    os.environ.update(environment)
    wall, user, rss, out = _timed([sys.executable, "long_chain.py", str(steps)], repo)
    run_name = next(line.split()[1] for line in out.splitlines() if line.startswith("RUN "))
    show_wall, show_user, _, _ = _timed(
        [sys.executable, "-m", "headrace.cli.main", "run", "show", run_name], repo
    )
    print(
        json.dumps(
            {
                "long_chain_steps": steps,
                "long_chain_s": round(wall, 3),
                "long_chain_user_s": round(user, 3),
                "long_chain_peak_rss_mib": round(rss, 1),
                "run_show_s": round(show_wall, 3),
                "run_show_user_s": round(show_user, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
