"""Every run ends: what the driver does around executing a run.

``RunLifecycle`` wraps the launcher's execution of one run. On entry it marks the run as
driven by this process (``headrace.store.run_liveness``), starts the heartbeat thread
(which also relays stop requests and signals) and installs the signal handlers. While
the run executes, a stop (signal or ``headrace pipeline runs stop``) goes to the run's
scheduler. On the way out, a run that ended without recording its end (the driver
raised, the store refused a write, a second Ctrl-C) is ended here, best effort: run and
unended steps ``stopped`` after an interrupt, ``failed`` otherwise, with the reason.
Then the received signal, if any, acts as it would have.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus
from headrace.exceptions import RunFailedError
from headrace.execution.heartbeat import Heartbeat, driver_identity
from headrace.execution.signals import SignalStop
from headrace.models import PipelineRunUpdate, StepRunUpdate
from headrace.store.run_liveness import start_driving, stop_driving
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.execution.run_state import RunState

logger = headrace_logger()


class RunLifecycle:
    """Heartbeat, stop requests, signals and a guaranteed end for one driven run."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.stop_reason: str | None = None
        self._lock = threading.Lock()
        self._heartbeat = Heartbeat(state.store, state.run.id, self.stop)
        self._signals = SignalStop(self._on_signal)

    def claim(self) -> dict[str, Any]:
        """The run's fields that say this process drives it (written with ``running``)."""
        return driver_identity()

    def __enter__(self) -> RunLifecycle:
        start_driving(self.state.run.id)
        self._signals.install()
        self._heartbeat.start()
        return self

    def _on_signal(self, name: str) -> None:
        """In the signal handler: no locks. Nothing new may start from now on (a plain
        attribute write), and the heartbeat thread stops the running steps."""
        reason = f"the run's process received {name}"
        if self.stop_reason is None:
            self.stop_reason = reason
        scheduler = getattr(self.state, "scheduler", None)
        if scheduler is not None and scheduler.halt_reason is None:
            scheduler.halt_reason = reason
        self._heartbeat.signal_received(name)

    def stop(self, graceful: bool, reason: str) -> None:
        """Stop the run (from the heartbeat thread): nothing new starts; unless
        ``graceful``, running steps are interrupted."""
        with self._lock:
            if self.stop_reason is None or not graceful:
                self.stop_reason = reason
        scheduler = getattr(self.state, "scheduler", None)
        if scheduler is not None:
            scheduler.stop(graceful, reason)
        if not graceful:
            self._signals.interrupt_main_thread()

    def final_status(
        self, status: ExecutionStatus, statuses: dict[str, ExecutionStatus]
    ) -> ExecutionStatus:
        """A stopped run that did not complete every step ends ``stopped``."""
        if self.stop_reason is None:
            return status
        if status is ExecutionStatus.COMPLETED and all(s.is_successful for s in statuses.values()):
            return status
        return ExecutionStatus.STOPPED

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._heartbeat.close()
            if error is not None and not isinstance(error, RunFailedError):
                self._end_unended(error)
        finally:
            stop_driving(self.state.run.id)
            self._signals.restore()
        if error is None or isinstance(error, RunFailedError):
            self._signals.act()

    def _end_unended(self, error: BaseException) -> None:
        """Record the end of a run whose execution raised, if nothing recorded it."""
        store, run_id = self.state.store, self.state.run.id
        interrupted = isinstance(error, KeyboardInterrupt | SystemExit) or (
            self._signals.received is not None
        )
        status = ExecutionStatus.STOPPED if interrupted else ExecutionStatus.FAILED
        reason = self.stop_reason if interrupted and self.stop_reason else None
        reason = reason or f"the run's driver failed: {type(error).__name__}: {error}"
        now = datetime.now(UTC)
        try:
            for step_run in store.list_step_runs(run_id).values():
                if not step_run.status.is_finished:
                    store.update_step_run(
                        step_run.id,
                        StepRunUpdate(status=status, end_time=now, status_reason=reason),
                    )
            if not store.get_run(run_id).status.is_finished:
                store.update_run(
                    run_id, PipelineRunUpdate(status=status, end_time=now, status_reason=reason)
                )
        except Exception:  # the store refuses writes: readers of this process end it
            logger.warning(
                "Run %s could not be recorded as %s (%s); it will show as failed when read.",
                self.state.run.name,
                status.value,
                reason,
                exc_info=True,
            )
