"""Run one step task in a fresh process: ``python -m headrace.execution.step_entrypoint``.

Usage::

    python -m headrace.execution.step_entrypoint TASK_FILE [--result FILE]
    python -m headrace.execution.step_entrypoint - < task.json      # task on stdin
    python -m headrace.execution.step_entrypoint --task-env NAME     # task in $NAME
    python -m headrace.execution.step_entrypoint --serve --result-fd N --parent-pid PID

The first three forms read one ``StepTask`` (``--task-env``: from an environment
variable, how a Kubernetes step pod receives it) as JSON, run it with ``run_step_task`` and
write the ``StepResult`` as JSON to ``--result FILE`` or stdout (the step's own printing
then goes to stderr, so stdout holds only the result). The exit code is 0 whenever the
step ran, failed steps included (a failed step is a normal result); 2 for bad usage or
an unreadable task, 1 if the step could not be run at all.

``--serve`` is the worker of the local orchestrator's process mode: it reads one task
per line on stdin and writes one result per line to file descriptor ``--result-fd``
until stdin closes. With ``--parent-pid`` the process never outlives that parent: on
Linux the kernel kills it when the parent dies (``PR_SET_PDEATHSIG``), and everywhere a
watcher thread exits as soon as the parent is gone.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import TextIO

PARENT_POLL_INTERVAL_S = 0.2
EXIT_BAD_USAGE = 2
EXIT_NOT_RUN = 1


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` ends (a killed parent leaves no children)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the watcher below suffices
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(EXIT_NOT_RUN)

    def watch() -> None:
        while True:
            threading.Event().wait(PARENT_POLL_INTERVAL_S)
            if os.getppid() != parent_pid:
                os._exit(EXIT_NOT_RUN)

    threading.Thread(target=watch, name="headrace-parent-watch", daemon=True).start()


def _run_one(text: str) -> str:
    from headrace.execution.step_task import StepTask, run_step_task

    return run_step_task(StepTask.from_json(text)).to_json()


def _invocation_of(line: str) -> str:
    import json

    try:
        return str(json.loads(line)["invocation_id"])
    except (ValueError, KeyError, TypeError):
        return "?"


def serve(tasks: TextIO, result_fd: int) -> int:
    """Run tasks read line by line until ``tasks`` closes; results go to ``result_fd``."""
    from headrace.enums import ExecutionStatus
    from headrace.execution.step_task import StepResult

    with os.fdopen(result_fd, "w", encoding="utf-8") as results:
        for line in tasks:
            if not line.strip():
                continue
            try:
                answer = _run_one(line)
            except Exception as exc:  # the task could not run at all: say so, keep serving
                answer = StepResult.from_exception(
                    _invocation_of(line), ExecutionStatus.FAILED, exc, recorded=False
                ).to_json()
            results.write(answer + "\n")
            results.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m headrace.execution.step_entrypoint",
        description="Run one headrace step task (JSON) and write its result (JSON).",
    )
    parser.add_argument("task", nargs="?", help="task file, or - for stdin")
    parser.add_argument("--task-env", help="read the task from this environment variable")
    parser.add_argument("--result", help="write the result here instead of stdout")
    parser.add_argument("--serve", action="store_true", help="run tasks from stdin lines")
    parser.add_argument("--result-fd", type=int, help="with --serve: where results go")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
    if args.serve:
        if args.result_fd is None:
            parser.error("--serve needs --result-fd")
        import signal

        # Ctrl-C reaches the terminal's whole process group: the driver stops the run
        # (and kills the workers running steps); a worker must not end on its own.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return serve(sys.stdin, args.result_fd)
    if args.task is None and args.task_env is None:
        parser.error("give a task file, - to read the task from stdin, or --task-env NAME")
    try:
        if args.task_env is not None:
            if args.task_env not in os.environ:
                raise ValueError(f"the environment variable {args.task_env} is not set")
            text = os.environ[args.task_env]
        elif args.task == "-":
            text = sys.stdin.read()
        else:
            with open(args.task, encoding="utf-8") as handle:
                text = handle.read()
        from headrace.execution.step_task import StepTask

        task = StepTask.from_json(text)
    except (OSError, ValueError, KeyError) as exc:
        where = args.task if args.task_env is None else f"${args.task_env}"
        print(f"Cannot read the step task {where!r}: {exc}", file=sys.stderr)
        return EXIT_BAD_USAGE
    real_stdout = sys.stdout
    if args.result is None:
        sys.stdout = sys.stderr  # the step's printing must not mix with the result
    try:
        from headrace.execution.step_task import run_step_task

        result = run_step_task(task).to_json()
    except Exception as exc:
        print(
            f"Step {task.invocation_id!r} of run {task.run_id} could not be run: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_NOT_RUN
    finally:
        sys.stdout = real_stdout
    if args.result is None:
        real_stdout.write(result + "\n")
        real_stdout.flush()
    else:
        with open(args.result, "w", encoding="utf-8") as handle:
            handle.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
