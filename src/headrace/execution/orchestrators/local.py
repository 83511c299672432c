"""The local orchestrator: steps run on this machine, in threads or in child processes.

Threads (the default): a step that is alone (nothing else running or waiting) runs in
the thread that waits for results, so a chain pays no thread hand-off (nor the import
of ``concurrent.futures``, which happens with the first pool); steps that can overlap
run in a pool of up to ``max_parallelism`` threads, sharing the driver's memory.

Processes (``processes=True``): every step runs in a worker process started with
``python -m headrace.execution.step_entrypoint --serve`` (spawned, never forked, so it
works the same on macOS and with pipelines defined in ``__main__`` scripts, which the
worker imports by their source root). Workers are reused for the run's later steps and
end with the run; a worker never outlives its parent (see ``step_entrypoint``).
Interrupting a run kills the workers running steps; what they had started writing is
removed by the driver, which records the step as stopped.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import TYPE_CHECKING

from pydantic import BaseModel

from headrace.enums import ExecutionStatus
from headrace.execution.interrupts import interrupt
from headrace.execution.orchestrators.base import BaseOrchestrator, RunInProcess
from headrace.execution.step_task import StepResult, StepTask

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from headrace.execution.orchestrators.local_processes import ProcessWorkers
    from headrace.execution.run_state import RunState

DEFAULT_MAX_PARALLELISM = 32
ENV_MAX_PARALLELISM = "HEADRACE_MAX_PARALLELISM"


def default_max_parallelism(*, processes: bool = False) -> int:
    """``HEADRACE_MAX_PARALLELISM``, else 32 threads, or one worker process per CPU (at
    least 4): each worker is a whole interpreter."""
    configured = os.environ.get(ENV_MAX_PARALLELISM)
    if configured:
        return int(configured)
    if processes:
        return max(4, os.cpu_count() or 1)
    return DEFAULT_MAX_PARALLELISM


class LocalOrchestrator(BaseOrchestrator):
    """Runs steps on this machine, up to ``max_parallelism`` at once.

    ``runs_in_process`` is true for threads and false in process mode (an instance
    setting: one flavor, two ways of running).
    """

    runs_in_process = True
    needs_code_archive = False

    def __init__(self, config: BaseModel) -> None:
        super().__init__(config)
        self.processes = bool(getattr(config, "processes", False))
        max_parallelism = getattr(config, "max_parallelism", None)
        if max_parallelism is None:
            max_parallelism = default_max_parallelism(processes=self.processes)
        if max_parallelism < 1:
            raise ValueError(f"max_parallelism must be at least 1, got {max_parallelism}.")
        self.max_parallelism: int = max_parallelism
        self.runs_in_process = not self.processes
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._queue: deque[StepTask] = deque()
        self._results: list[StepResult] = []
        self._running = 0
        self._threads: dict[str, int] = {}  # invocation -> thread running it
        self._stopped = False
        self._run_in_process: RunInProcess | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._workers: ProcessWorkers | None = None

    def prepare(self, run: RunState, run_in_process: RunInProcess) -> None:
        self._run_in_process = run_in_process
        if self.processes:
            from headrace.execution.orchestrators.local_processes import ProcessWorkers

            self._workers = ProcessWorkers(self._completed)

    def submit(self, task: StepTask) -> None:
        with self._lock:
            if self._stopped:
                self._results.append(_never_started(task))
                self._finished.notify_all()
                return
            self._queue.append(task)
            if self._running or self.processes:
                self._dispatch()

    def wait(self, timeout: float | None) -> list[StepResult]:
        inline: StepTask | None = None
        with self._lock:
            if (
                not self._results
                and len(self._queue) == 1
                and not self._running
                and not self.processes
            ):
                inline = self._queue.popleft()
                self._running += 1
            else:
                self._dispatch()
        if inline is not None:  # nothing to overlap: run it in this thread
            result = self._in_thread(inline)
            with self._lock:
                self._running -= 1
                self._dispatch()
                results, self._results = [*self._results, result], []
                return results
        with self._lock:
            while not self._results:
                if not self._finished.wait(timeout) and timeout is not None:
                    break
            results, self._results = self._results, []
            return results

    def stop(self, graceful: bool) -> None:
        with self._lock:
            self._stopped = True
            while self._queue:
                self._results.append(_never_started(self._queue.popleft()))
            self._finished.notify_all()
            if graceful:
                return
            idents = list(self._threads.values())
        for ident in idents:
            interrupt(ident)
        if self._workers is not None:
            self._workers.kill_busy()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    # -- internals ----------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Start queued tasks while slots are free (lock held)."""
        while self._queue and self._running < self.max_parallelism:
            task = self._queue.popleft()
            self._running += 1
            if self._workers is not None:
                self._workers.start(task)
                continue
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_parallelism, thread_name_prefix="headrace-step"
                )
            self._pool.submit(self._in_pool, task)

    def _in_thread(self, task: StepTask) -> StepResult:
        run = self._run_in_process
        if run is None:
            raise RuntimeError("LocalOrchestrator.prepare() was not called before running steps.")
        name = task.invocation_id
        with self._lock:
            self._threads[name] = threading.get_ident()
        try:
            return run(task)
        finally:
            with self._lock:
                self._threads.pop(name, None)

    def _in_pool(self, task: StepTask) -> None:
        try:
            result = self._in_thread(task)
        except BaseException as exc:  # the runner records step failures itself
            result = StepResult.from_exception(
                task.invocation_id, ExecutionStatus.FAILED, exc, recorded=False
            )
        self._completed(result)

    def _completed(self, result: StepResult) -> None:
        with self._lock:
            self._running -= 1
            self._results.append(result)
            if not self.processes:
                self._dispatch()  # process workers are started by submit/wait only
            self._finished.notify_all()


def _never_started(task: StepTask) -> StepResult:
    return StepResult(task.invocation_id, ExecutionStatus.SKIPPED, recorded=False)
