"""The one scheduler of a run, static or dynamic, over any orchestrator.

It counts each step's unfinished upstream steps, submits a step task to the
orchestrator the moment the count reaches zero, and handles results as they come back:
a step whose upstream did not succeed is skipped (and so on downstream), and a failure
stops the run as the execution mode says (``CONTINUE_ON_FAILURE``: nothing happens;
``STOP_ON_FAILURE``: nothing new starts; ``FAIL_FAST``: running steps are interrupted
too). A static run adds every step up front and drives the orchestrator in the calling
thread; a dynamic run adds steps while its pipeline function runs, drives from a
scheduler thread, and lets the function wait for a step (``wait_for``) to read its
output. ``stop`` may be called from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from headrace.enums import ExecutionMode, ExecutionStatus

if TYPE_CHECKING:
    from headrace.config.spec import StepSpec
    from headrace.execution.orchestrators.base import BaseOrchestrator
    from headrace.execution.step_task import StepResult, StepTask

MakeTask = Callable[["StepSpec"], "StepTask"]
HandleResult = Callable[["StepResult"], None]
MarkStep = Callable[[str, ExecutionStatus, str], None]


class Scheduler:
    """Submits the steps of one run to an orchestrator as they become ready."""

    def __init__(
        self,
        orchestrator: BaseOrchestrator,
        make_task: MakeTask,
        handle_result: HandleResult,
        mark: MarkStep,
        mode: ExecutionMode,
        *,
        dynamic: bool = False,
    ) -> None:
        """``make_task`` builds a ready step's task; ``handle_result`` records what a
        result means for the run (outputs, errors; and the step run itself when the
        result is not ``recorded``); ``mark`` records a step that never starts."""
        self.orchestrator = orchestrator
        self.make_task = make_task
        self.handle_result = handle_result
        self.mark = mark
        self.mode = mode
        self.dynamic = dynamic
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.steps: dict[str, StepSpec] = {}
        self.downstream: dict[str, list[str]] = {}
        self.waiting: dict[str, int] = {}
        self.statuses: dict[str, ExecutionStatus] = {}
        self.events: dict[str, threading.Event] = {}
        self.outstanding = 0  # submitted, result not yet handled
        self.closed = not dynamic  # no more steps will be added
        self.halt_reason: str | None = None  # set once nothing new may start
        self.crashed: BaseException | None = None

    # -- adding steps -------------------------------------------------------------------
    def add(self, step: StepSpec) -> None:
        """Schedule a step; it is submitted once all its upstream steps have finished."""
        name = step.invocation_id
        with self.lock:
            if self.crashed is not None:
                raise RuntimeError("the run's scheduler stopped") from self.crashed
            self.steps[name] = step
            self.downstream.setdefault(name, [])
            if self.dynamic:
                self.events[name] = threading.Event()
            open_upstream = 0
            for up in step.upstream:
                if up not in self.statuses:
                    self.downstream.setdefault(up, []).append(name)
                    open_upstream += 1
            self.waiting[name] = open_upstream
            if not open_upstream and not self._start(name):
                self._done(name, ExecutionStatus.SKIPPED)
            if self.dynamic:
                self.changed.notify_all()  # the driving thread may wait for work

    def add_all(self, steps: Iterable[StepSpec]) -> None:
        """Schedule the steps of a static run (in a topological order)."""
        for step in steps:
            self.add(step)

    def close(self) -> None:
        """No more steps will be added (a dynamic pipeline function returned)."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    # -- driving ------------------------------------------------------------------------
    def drive(self) -> dict[str, ExecutionStatus]:
        """Collect results until every added step has finished and no more will come;
        returns every step's final status."""
        orchestrator = self.orchestrator
        try:
            while True:
                with self.lock:
                    while self.outstanding == 0 and not self.closed:
                        self.changed.wait()
                    if self.outstanding == 0:
                        break
                for result in orchestrator.wait(None):
                    self._handle(result)
        except BaseException as exc:
            with self.lock:
                self.crashed = exc
                if self.halt_reason is None:
                    self.halt_reason = "the run's driver failed"
                for event in self.events.values():
                    event.set()
                self.changed.notify_all()
            raise
        with self.lock:
            for name in self.steps:  # nothing should be left; never leave a step unrecorded
                if name not in self.statuses:
                    self._finish(
                        name, ExecutionStatus.SKIPPED, "not started: the run stopped early"
                    )
            return dict(self.statuses)

    def drive_in_thread(self) -> threading.Thread:
        """Drive from a new thread (dynamic runs: the pipeline function has the caller's)."""
        thread = threading.Thread(target=self._drive_quietly, name="headrace-scheduler")
        thread.start()
        return thread

    def _drive_quietly(self) -> None:
        try:
            self.drive()
        except BaseException:  # kept in self.crashed; the launcher re-raises it
            return

    def wait_for(self, name: str) -> ExecutionStatus:
        """Block until a step of a dynamic run has finished; returns its status."""
        self.events[name].wait()
        with self.lock:
            if name not in self.statuses and self.crashed is not None:
                raise RuntimeError("the run's scheduler stopped") from self.crashed
            return self.statuses[name]

    def stop(self, graceful: bool, reason: str = "the run was stopped") -> None:
        """Start nothing new; unless ``graceful``, interrupt the steps that are running."""
        with self.lock:
            if self.halt_reason is None:
                self.halt_reason = reason
        self.orchestrator.stop(graceful)

    # -- internals (called with the lock held unless said otherwise) --------------------
    def _start(self, name: str) -> bool:
        """Submit a step whose upstream steps all finished; returns ``False`` (after
        recording it) when it is skipped instead."""
        step = self.steps[name]
        failed = [u for u in step.upstream if not self.statuses[u].is_successful]
        if failed:
            reason = f"not started: upstream step(s) {', '.join(failed)} did not succeed"
            self.mark(name, ExecutionStatus.SKIPPED, reason)
            return False
        if self.halt_reason is not None:
            self.mark(name, ExecutionStatus.SKIPPED, self._stopping())
            return False
        task = self.make_task(step)
        self.outstanding += 1
        self.orchestrator.submit(task)
        return True

    def _stopping(self) -> str:
        return f"not started: {self.halt_reason}"

    def _finish(self, name: str, status: ExecutionStatus, reason: str) -> None:
        """A step that never started: record it and release its dependents."""
        self.mark(name, status, reason)
        self._done(name, status)

    def _handle(self, result: StepResult) -> None:
        """Called without the lock: the result's records may need writing first."""
        name = result.invocation_id
        if not result.recorded and result.status is ExecutionStatus.SKIPPED:
            with self.lock:  # submitted, never started: the orchestrator was stopped
                self.outstanding -= 1
                self._finish(name, ExecutionStatus.SKIPPED, self._stopping())
                self.changed.notify_all()
            return
        self.handle_result(result)
        stop: bool | None = None
        with self.lock:
            self.outstanding -= 1
            if (
                result.status is ExecutionStatus.FAILED
                and self.mode is not ExecutionMode.CONTINUE_ON_FAILURE
                and self.halt_reason is None
            ):
                self.halt_reason = f"the run is stopping ({self.mode.value})"
                stop = self.mode is ExecutionMode.STOP_ON_FAILURE
            self._done(name, result.status)
            self.changed.notify_all()
        if stop is not None:
            self.orchestrator.stop(graceful=stop)

    def _done(self, name: str, status: ExecutionStatus) -> None:
        """Record a final status and release (or skip, transitively) its dependents."""
        stack = [(name, status)]
        while stack:
            current, current_status = stack.pop()
            self.statuses[current] = current_status
            event = self.events.get(current)
            if event is not None:
                event.set()
            for down in self.downstream.get(current, ()):
                self.waiting[down] -= 1
                if self.waiting[down] == 0 and not self._start(down):
                    stack.append((down, ExecutionStatus.SKIPPED))
