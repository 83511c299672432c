"""The local orchestrator: independent steps run at the same time in a thread pool.

A step starts as soon as all its upstream steps succeeded. When only one step can run
and nothing else is running, it runs in the calling thread, so a chain pays no thread
hand-off (nor the import of ``concurrent.futures``, which happens with the first pool).
Execution modes decide what a failure does to the rest of the run.
"""

from __future__ import annotations

import heapq
import os
import threading
from typing import TYPE_CHECKING

from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.execution.interrupts import interrupt
from headrace.execution.orchestrators.base import BaseOrchestrator, ExecutionPlan, MarkStep, RunStep

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

DEFAULT_MAX_PARALLELISM = 32
ENV_MAX_PARALLELISM = "HEADRACE_MAX_PARALLELISM"


class LocalOrchestrator(BaseOrchestrator):
    """Runs steps in this process, up to ``max_parallelism`` at once."""

    def __init__(
        self, max_parallelism: int | None = None, run_parallel_step: RunStep | None = None
    ) -> None:
        """``run_parallel_step`` runs steps that overlap others (e.g. in a child process);
        a step that runs alone always runs in the calling thread."""
        self.run_parallel_step = run_parallel_step
        if max_parallelism is None:
            max_parallelism = int(os.environ.get(ENV_MAX_PARALLELISM, DEFAULT_MAX_PARALLELISM))
        if max_parallelism < 1:
            raise ValueError(f"max_parallelism must be at least 1, got {max_parallelism}.")
        self.max_parallelism = max_parallelism

    def run(
        self, plan: ExecutionPlan, run_step: RunStep, mark_step: MarkStep, mode: ExecutionMode
    ) -> dict[str, ExecutionStatus]:
        execution = _Execution(plan, run_step, mark_step, mode, self.max_parallelism)
        execution.run_parallel_step = self.run_parallel_step or run_step
        return execution.run()


class _Execution:
    """State of one orchestrated run."""

    def __init__(
        self,
        plan: ExecutionPlan,
        run_step: RunStep,
        mark_step: MarkStep,
        mode: ExecutionMode,
        max_parallelism: int,
    ) -> None:
        self.plan = plan
        self.run_step = run_step
        self.run_parallel_step = run_step
        self.mark_step = mark_step
        self.mode = mode
        self.max_parallelism = max_parallelism
        self.position = {name: i for i, name in enumerate(plan.order)}
        self.downstream = plan.downstream()
        self.waiting = {name: len(plan.upstream[name]) for name in plan.order}
        self.statuses: dict[str, ExecutionStatus] = {}
        self.ready: list[tuple[int, str]] = [
            (self.position[n], n) for n in plan.order if self.waiting[n] == 0
        ]
        heapq.heapify(self.ready)
        self.running: dict[Future[ExecutionStatus], str] = {}
        self.threads: dict[str, int] = {}
        self.threads_lock = threading.Lock()
        self.halted = False  # no new steps start (FAIL_FAST / STOP_ON_FAILURE after a failure)

    def run(self) -> dict[str, ExecutionStatus]:
        pool: ThreadPoolExecutor | None = None
        try:
            while self.ready or self.running:
                if self.halted:
                    self._skip_ready()
                    if not self.running:
                        break
                while self.ready and not self.halted and len(self.running) < self.max_parallelism:
                    _, name = heapq.heappop(self.ready)
                    if not self.running and not self.ready:
                        self._done(name, self.run_step(name))  # run inline: nothing to overlap
                        break
                    if pool is None:
                        from concurrent.futures import ThreadPoolExecutor

                        pool = ThreadPoolExecutor(
                            max_workers=self.max_parallelism, thread_name_prefix="headrace-step"
                        )
                    self.running[pool.submit(self._in_thread, name)] = name
                if self.running:
                    from concurrent.futures import FIRST_COMPLETED, wait

                    finished, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = self.running.pop(future)
                        self._done(name, future.result())
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        for name in self.plan.order:  # anything never reached (after a halt) is skipped
            if name not in self.statuses:
                self._mark(name, ExecutionStatus.SKIPPED, "not started: the run stopped early")
        return self.statuses

    def _in_thread(self, name: str) -> ExecutionStatus:
        with self.threads_lock:
            self.threads[name] = threading.get_ident()
        try:
            return self.run_parallel_step(name)
        finally:
            with self.threads_lock:
                self.threads.pop(name, None)

    def _mark(self, name: str, status: ExecutionStatus, reason: str) -> None:
        self.mark_step(name, status, reason)
        self.statuses[name] = status

    def _skip_ready(self) -> None:
        while self.ready:
            _, name = heapq.heappop(self.ready)
            self._mark(
                name,
                ExecutionStatus.SKIPPED,
                f"not started: the run is stopping ({self.mode.value})",
            )

    def _done(self, name: str, status: ExecutionStatus) -> None:
        self.statuses[name] = status
        if status is ExecutionStatus.FAILED:
            self._on_failure()
        self._release(name)

    def _on_failure(self) -> None:
        if self.mode is ExecutionMode.CONTINUE_ON_FAILURE:
            return
        self.halted = True
        if self.mode is ExecutionMode.FAIL_FAST:
            with self.threads_lock:
                idents = list(self.threads.values())
            for ident in idents:
                interrupt(ident)

    def _release(self, name: str) -> None:
        """Let dependents of a finished step start, or skip them if it did not succeed."""
        stack = [name]
        while stack:
            current = stack.pop()
            for down in self.downstream[current]:
                self.waiting[down] -= 1
                if self.waiting[down] > 0:
                    continue
                failed_up = [
                    u for u in self.plan.upstream[down] if not self.statuses[u].is_successful
                ]
                if failed_up:
                    self._mark(
                        down,
                        ExecutionStatus.SKIPPED,
                        f"not started: upstream step(s) {', '.join(failed_up)} did not succeed",
                    )
                    stack.append(down)
                else:
                    heapq.heappush(self.ready, (self.position[down], down))
