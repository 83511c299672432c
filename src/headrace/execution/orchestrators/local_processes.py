"""Worker processes of the local orchestrator's process mode.

Each worker is ``python -m headrace.execution.step_entrypoint --serve``: spawned (not
forked), with the driver's ``sys.path`` and source root so it imports the same code,
reading one task per line on its stdin and answering on a pipe of its own (its stdout
and stderr are the driver's, so what steps print still reaches the terminal). A worker
is reused for later steps and ends when the run closes it, when it is killed to stop a
step, or when the driver dies (``--parent-pid``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

from headrace.config.source import get_source_root, is_importable_source
from headrace.enums import ExecutionStatus
from headrace.exceptions import ConfigurationError, StepExecutionError, StepInterruptedError
from headrace.execution.step_task import StepResult, StepTask
from headrace.utils.env import ENV_SOURCE_ROOT

Completed = Callable[[StepResult], None]


class _Worker:
    """One worker process and the thread that reads its results."""

    def __init__(self, on_result: Callable[[_Worker, StepResult | None], None]) -> None:
        read_fd, write_fd = os.pipe()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        environment[ENV_SOURCE_ROOT] = str(get_source_root())
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "headrace.execution.step_entrypoint",
                    "--serve",
                    "--result-fd",
                    str(write_fd),
                    "--parent-pid",
                    str(os.getpid()),
                ],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=environment,
                text=True,
            )
        finally:
            os.close(write_fd)
        self.results: IO[str] = os.fdopen(read_fd, encoding="utf-8")
        self.task: StepTask | None = None  # the step it is running
        self.killed = False
        self._on_result = on_result
        self._reader = threading.Thread(
            target=self._read, name=f"headrace-worker-{self.process.pid}", daemon=True
        )
        self._reader.start()

    def send(self, task: StepTask) -> None:
        self.task = task
        assert self.process.stdin is not None
        self.process.stdin.write(task.to_json() + "\n")
        self.process.stdin.flush()

    def _read(self) -> None:
        with self.results:
            for line in self.results:
                self._on_result(self, StepResult.from_json(line))
        self.process.wait()
        self._on_result(self, None)  # the process ended

    def kill(self) -> None:
        self.killed = True
        self.process.kill()

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the worker's loop ends
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)


class ProcessWorkers:
    """The run's worker processes: idle ones are reused, new ones started as needed."""

    def __init__(self, completed: Completed) -> None:
        self._completed = completed
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()

    def start(self, task: StepTask) -> None:
        """Run ``task`` in an idle worker, or in a new one."""
        source = task.step.source
        if task.code is None and not is_importable_source(source):
            error = ConfigurationError(
                f"Step {task.invocation_id!r} cannot run in a separate process: its source "
                f"{source!r} is not importable (defined inside a function or in an "
                "interactive session). Define the step at module level, or run without "
                "processes=True."
            )
            self._completed(
                StepResult.from_exception(
                    task.invocation_id, ExecutionStatus.FAILED, error, recorded=False
                )
            )
            return
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self._on_result)
        with self._lock:
            self._busy.add(worker)
        with contextlib.suppress(OSError):  # a worker that died: its reader reports it
            worker.send(task)

    def _on_result(self, worker: _Worker, result: StepResult | None) -> None:
        task = worker.task
        if result is not None:
            with self._lock:
                worker.task = None
                self._busy.discard(worker)
                self._idle.append(worker)
            self._completed(result)
            return
        with self._lock:  # the process ended
            self._busy.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
        if task is None:
            return
        worker.task = None
        exc: BaseException
        if worker.killed:
            exc = StepInterruptedError(
                f"Step {task.invocation_id!r} was stopped: its process was terminated."
            )
            status = ExecutionStatus.STOPPED
        else:
            exc = StepExecutionError(
                f"The process running step {task.invocation_id!r} ended unexpectedly "
                f"(exit code {worker.process.returncode})."
            )
            status = ExecutionStatus.FAILED
        self._completed(StepResult.from_exception(task.invocation_id, status, exc, recorded=False))

    def kill_busy(self) -> None:
        """Kill the workers that are running steps (their steps end stopped)."""
        with self._lock:
            busy = list(self._busy)
        for worker in busy:
            worker.kill()

    def close(self) -> None:
        """End every worker."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle, self._busy = [], set()
        for worker in workers:
            worker.close()
