"""A runner process started ahead of time: headrace is imported before a run exists.

The local workload manager keeps one of these waiting, so a queued run does not wait
for a fresh interpreter to import headrace (most of a runner's start-up). It reads one
line of JSON from stdin, ``{"environment": {...}, "run_id": "..."}``, applies the
environment, and executes the run as ``python -m headrace.execution.snapshot_runs
RUN_ID`` would. End of input without a line (the server went away) ends it quietly.
"""

from __future__ import annotations

import json
import os
import sys

# Imported now, while no run waits: this is the work the warm runner saves.
from headrace.execution import launcher as _launcher  # noqa: F401
from headrace.execution import snapshot_runs
from headrace.store import factory as _factory  # noqa: F401


def main() -> int:
    """Wait for a run, then execute it."""
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    os.environ.update({str(k): str(v) for k, v in request.get("environment", {}).items()})
    return snapshot_runs.main([str(request["run_id"])])


if __name__ == "__main__":
    sys.exit(main())
