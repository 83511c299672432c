"""The orchestrator interface: where and when step tasks run, nothing else.

One scheduler (``headrace.execution.scheduler``) drives every orchestrator, for static
and dynamic runs alike: it submits a step task as soon as the step's upstream steps are
done, collects results with ``wait``, decides what a failure means for the rest of the
run (execution modes), and records steps that never start. An orchestrator only runs
the tasks it is handed, each with ``run_step_task`` (or, when ``runs_in_process``, with
the driver's own step runner) and reports how each ended. It never materializes,
caches, calls hooks or writes records itself.

Threading: ``submit`` and ``stop`` may be called from any thread (a dynamic pipeline
adds steps from its own thread; a run may be stopped from another); ``wait`` is called
by one thread at a time, the scheduler's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from headrace.execution.run_state import RunState
    from headrace.execution.step_task import CodeLocation, StepResult, StepTask

# How an orchestrator whose steps share the driver's memory runs a task: the driver's
# step runner with the driver's run state (live objects, pipeline_state).
RunInProcess = Callable[["StepTask"], "StepResult"]


class BaseOrchestrator(ABC):
    """Runs step tasks somewhere and reports their results.

    Class flags (an orchestrator states what it is, it has no half-implemented methods):

    - ``runs_in_process``: steps run in the driver's process and share its memory, so
      immutable output values are handed downstream without a round trip through the
      artifact store, and steps see the ``on_init`` hook's ``pipeline_state``. The
      scheduler then hands the orchestrator ``run_in_process`` (via ``prepare``).
    - ``needs_code_archive``: steps run where the driver's working tree is not, so every
      task carries the run's code archive (``StepTask.code``); the launcher archives the
      code once per run when the run is not already a snapshot with one.
    """

    runs_in_process: bool = False
    needs_code_archive: bool = False

    def __init__(self, config: BaseModel) -> None:
        self.config = config

    def remote_driver(self, run: RunState) -> RemoteDriver | None:
        """Where the driver of ``run`` runs when it is not the launching process (e.g. a
        pod of its own); ``None`` (the default): the launching process drives the run,
        calling ``prepare``/``submit``/``wait`` itself."""
        return None

    @abstractmethod
    def prepare(self, run: RunState, run_in_process: RunInProcess) -> None:
        """Called once before any step of ``run`` is submitted.

        Connect and check that steps can run (raise a clear error naming the address
        and how to start what is missing). ``run_in_process`` runs a task with the
        driver's step runner; orchestrators that are not ``runs_in_process`` ignore it.
        """

    @abstractmethod
    def submit(self, task: StepTask) -> None:
        """Run ``task``, whose inputs are all ready (now or when a slot is free)."""

    @abstractmethod
    def wait(self, timeout: float | None) -> list[StepResult]:
        """Results of tasks that finished since the last call; blocks until at least one
        is there or ``timeout`` seconds passed (then it may return ``[]``).

        A task that was submitted but never started because the orchestrator was
        stopped is reported as ``SKIPPED`` with ``recorded=False``; a task whose process
        died or was killed as ``FAILED``/``STOPPED`` with ``recorded=False``. The
        scheduler records those.
        """

    @abstractmethod
    def stop(self, graceful: bool) -> None:
        """Start nothing new. ``graceful``: let running steps finish; otherwise interrupt
        them (they end ``STOPPED``). Tasks not started yet are reported as skipped."""

    @abstractmethod
    def close(self) -> None:
        """Release everything (threads, processes, connections); called once at the end."""


class RemoteDriver(ABC):
    """A run's driver that runs elsewhere: the launching process starts it, then only
    follows the run in the store (``headrace.execution.remote_runs``).

    The driver reads everything it needs from the store (the run, its snapshot's spec,
    its stack), so ``start`` hands it nothing but the run's id and its code archive.
    """

    @abstractmethod
    def start(self, code: CodeLocation | None) -> None:
        """Start the driver of the run (raise ``OrchestratorError`` naming why not)."""

    @abstractmethod
    def gone(self) -> str | None:
        """Why the driver ended or will never start, or ``None`` while it may still
        drive the run. Asked while the run has not ended."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the driver itself goes on)."""
