"""The runner's command line and environment, as every remote manager starts it.

``RunJob.command`` is the runner's arguments after the interpreter
(``-m headrace.execution.snapshot_runs RUN_ID``) or a whole command line; remote
managers run it with the interpreter of the machine or image the runner lands on
(``python`` by default), never the server's own ``sys.executable``, whose path means
nothing there.
"""

from __future__ import annotations

import shlex

from headrace.server.workload.base import RunJob

RUNNER_MODULE = "headrace.execution.snapshot_runs"


def runner_argv(job: RunJob, python: str = "python") -> list[str]:
    """The runner's full command line: ``python`` first when the command starts with an
    interpreter option (``-m``/``-c``), else the command as it is."""
    command = list(job.command) or ["-m", RUNNER_MODULE, job.run_id]
    if command[0].startswith("-"):
        return [python, *command]
    return command


def runner_shell_command(job: RunJob, python: str = "python") -> str:
    """:func:`runner_argv` as one shell-quoted line (Ray jobs take a shell entrypoint)."""
    return shlex.join(runner_argv(job, python))
