"""Run progress on the terminal: what a run is doing while the user waits for it.

The launcher and the StepRunner report four events to a :class:`RunProgress`:
``run_started``, ``step_started``, ``step_finished`` (status, error line or reason) and
``run_finished``. Where nothing is to be shown the reporter is ``None`` and each call
site pays one ``is not None`` test, so the per-step hot path costs nothing extra.

Two reporters show the same events:

* :class:`LineProgress`, plain lines on stderr, when output is piped or captured (a log
  file, CI, a test runner);
* :class:`LiveProgress`, when stdout and stderr are both terminals: the same lines in
  colour, under them a live region with a spinner per running step, and what steps print
  still streaming above it.

``HEADRACE_LOGGING_VERBOSITY`` decides how much: ``INFO`` (default) every event,
``WARN`` only steps that failed, stopped or were skipped and runs that did not complete,
``ERROR`` only failures, ``CRITICAL`` nothing. ``DEBUG`` adds the step run's id.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus
from headrace.utils import terminal

if TYPE_CHECKING:
    from headrace.config.spec import PipelineSpec
    from headrace.models import PipelineRunResponse

# How loud each outcome is: shown at this verbosity or a chattier one.
STEP_LEVELS = {
    ExecutionStatus.COMPLETED: logging.INFO,
    ExecutionStatus.CACHED: logging.INFO,
    ExecutionStatus.SKIPPED: logging.WARNING,
    ExecutionStatus.STOPPED: logging.WARNING,
    ExecutionStatus.FAILED: logging.ERROR,
}
RUN_LEVELS = {
    ExecutionStatus.COMPLETED: logging.INFO,
    ExecutionStatus.STOPPED: logging.WARNING,
    ExecutionStatus.FAILED: logging.ERROR,
}
_STYLES = {
    ExecutionStatus.COMPLETED: "green",
    ExecutionStatus.CACHED: "cyan",
    ExecutionStatus.SKIPPED: "dim",
    ExecutionStatus.STOPPED: "yellow",
    ExecutionStatus.FAILED: "bold red",
}


NOT_STARTED = "not started: "


def seconds(value: float | None) -> str:
    """A duration for a progress line: ``0.012s``, ``3.4s``, ``2m05s``."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f}s"
    if value < 60:
        return f"{value:.1f}s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes}m{rest:02d}s"


def error_line(error: BaseException | None) -> str | None:
    """``Type: first line of the message`` of a step's exception."""
    if error is None:
        return None
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


class RunProgress:
    """Collects a run's events and turns them into lines; subclasses show the lines."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.finished: set[str] = set()
        self.counts: dict[ExecutionStatus, int] = {}
        self.failed: list[str] = []
        self.total: int | None = None
        self.run_start = time.monotonic()

    # -- events (called by the launcher and the StepRunner) -----------------------------
    def run_started(self, run: PipelineRunResponse, spec: PipelineSpec, stack: str) -> None:
        """A run is about to execute its steps."""
        self.run_start = time.monotonic()
        self.total = None if spec.config.dynamic else len(spec.steps)
        steps = "steps decided at run time" if self.total is None else _plural(self.total, "step")
        self.emit(
            logging.INFO,
            f"Running pipeline {spec.name!r} as run {run.name!r} on stack {stack!r} ({steps}).",
            None,
        )

    def step_started(self, invocation_id: str, step_run_id: str | None = None) -> None:
        """A step's function is about to be called."""
        with self.lock:
            self.started[invocation_id] = time.monotonic()
        detail = f" (step run {step_run_id})" if step_run_id and self.level <= logging.DEBUG else ""
        self.emit(logging.INFO, f"Step {invocation_id!r} started{detail}.", None)

    def step_finished(
        self,
        invocation_id: str,
        status: ExecutionStatus,
        error: str | None = None,
        reason: str | None = None,
        duration: float | None = None,
    ) -> None:
        """A step reached its final status (``duration``: when known better than from
        the time ``step_started`` was called, e.g. read from the store)."""
        with self.lock:
            if invocation_id in self.finished:
                return  # reported once, however many paths record the outcome
            self.finished.add(invocation_id)
            start = self.started.pop(invocation_id, None)
            self.counts[status] = self.counts.get(status, 0) + 1
            if status is ExecutionStatus.FAILED:
                self.failed.append(invocation_id)
        if duration is None and start is not None:
            duration = time.monotonic() - start
        level = STEP_LEVELS.get(status, logging.INFO)
        self.emit(level, step_line(invocation_id, status, duration, error, reason), status)

    def run_finished(self, run: PipelineRunResponse) -> None:
        """The run ended; says how, how long it took and how to look at it."""
        status = run.status
        duration = run.duration if run.duration is not None else time.monotonic() - self.run_start
        summary = ", ".join(
            f"{count} {state.value}" for state, count in sorted(self.counts.items()) if count
        )
        failed = f"; failed: {', '.join(self.failed)}" if self.failed else ""
        text = (
            f"Run {run.name!r} {status.value} in {seconds(duration)}"
            f"{f' ({summary}{failed})' if summary else ''}. "
            f"Inspect it: headrace run show {run.name}"
        )
        self.emit(RUN_LEVELS.get(status, logging.INFO), text, status)
        self.close()

    # -- output -------------------------------------------------------------------------
    def emit(self, level: int, text: str, status: ExecutionStatus | None) -> None:
        """Show ``text`` if the verbosity asks for ``level``."""
        if level >= self.level:
            self.show(text, status)

    def show(self, text: str, status: ExecutionStatus | None) -> None:
        """Write one line (plain: to the terminal under any step-log tee)."""
        terminal.write_line(text)

    def open(self) -> None:
        """Take the terminal (a live display starts here)."""

    def close(self) -> None:
        """Give the terminal back."""


class LineProgress(RunProgress):
    """Plain lines, for pipes, log files and test runners."""


def step_line(
    invocation_id: str,
    status: ExecutionStatus,
    duration: float | None,
    error: str | None,
    reason: str | None,
) -> str:
    """One line saying how a step ended."""
    if reason and reason.startswith(NOT_STARTED):
        reason = reason[len(NOT_STARTED) :]
    if status is ExecutionStatus.COMPLETED:
        return f"Step {invocation_id!r} completed in {seconds(duration)}."
    if status is ExecutionStatus.CACHED:
        return f"Step {invocation_id!r} cached: reused the outputs of an earlier run."
    if status is ExecutionStatus.FAILED:
        after = f" after {seconds(duration)}" if duration is not None else ""
        return f"Step {invocation_id!r} failed{after}: {error or reason or 'no error recorded'}"
    if status is ExecutionStatus.STOPPED:
        after = f" after {seconds(duration)}" if duration is not None else ""
        return f"Step {invocation_id!r} stopped{after}{f': {reason}' if reason else '.'}"
    if status is ExecutionStatus.SKIPPED:
        return f"Step {invocation_id!r} skipped{f': {reason}' if reason else '.'}"
    return f"Step {invocation_id!r} {status.value}."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class LiveProgress(RunProgress):
    """Colour lines and a live region of running steps, on a terminal (Rich)."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        from headrace.utils.safe_console import SafeConsole

        self.console = SafeConsole(file=terminal.terminal_stream(sys.stderr), highlight=False)
        self.live: Any = None
        self.spinners: dict[str, Any] = {}
        self._previous_writer: terminal.LiveWriter | None = None

    def open(self) -> None:
        from rich.live import Live

        # stdout and stderr are redirected through the console so what steps print appears
        # above the live region; the step-log tees wrap the redirection, so nothing of a
        # step's output is lost from its log.
        self.live = Live(
            _Running(self),
            console=self.console,
            transient=True,
            refresh_per_second=8,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self.live.start()
        self._previous_writer = terminal.set_live_writer(self._print_line)

    def close(self) -> None:
        if self.live is None:
            return
        live, self.live = self.live, None
        terminal.set_live_writer(self._previous_writer)
        live.stop()

    def step_started(self, invocation_id: str, step_run_id: str | None = None) -> None:
        from rich.spinner import Spinner

        with self.lock:
            self.spinners[invocation_id] = Spinner("dots", text=invocation_id, style="yellow")
        super().step_started(invocation_id, step_run_id)

    def step_finished(
        self,
        invocation_id: str,
        status: ExecutionStatus,
        error: str | None = None,
        reason: str | None = None,
        duration: float | None = None,
    ) -> None:
        with self.lock:
            self.spinners.pop(invocation_id, None)
        super().step_finished(invocation_id, status, error, reason, duration)

    def show(self, text: str, status: ExecutionStatus | None) -> None:
        from rich.text import Text

        self.console.print(Text(text, style=_STYLES.get(status, "") if status else ""))

    def _print_line(self, text: str, level: int) -> None:
        from rich.text import Text

        style = "red" if level >= logging.ERROR else "yellow" if level >= logging.WARNING else ""
        self.console.print(Text(text, style=style))

    def done(self) -> int:
        with self.lock:
            return sum(self.counts.values())


class _Running:
    """The live region: one spinner per running step and a count of finished steps."""

    def __init__(self, progress: LiveProgress) -> None:
        self.progress = progress

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        progress = self.progress
        with progress.lock:
            spinners = list(progress.spinners.values())
            done = sum(progress.counts.values())
        total = f"/{progress.total}" if progress.total is not None else ""
        elapsed = seconds(time.monotonic() - progress.run_start)
        footer = Text(f"{done}{total} steps finished, {len(spinners)} running, {elapsed}", "dim")
        return Group(*spinners, footer)


def announce_background_run(run: PipelineRunResponse, pipeline: str, stack: str) -> None:
    """Say that a run goes on in the background (``synchronous=False``) and how to follow it."""
    if terminal.configure_verbosity() <= logging.INFO:
        terminal.write_line(
            f"Started run {run.name!r} of pipeline {pipeline!r} on stack {stack!r} in the "
            f"background. Follow it: headrace run show {run.name}"
        )


def open_progress(*, live: bool | None = None) -> RunProgress | None:
    """The reporter for a run in this process, started; ``None`` when nothing is shown.

    ``live`` forces the choice of reporter (default: live when stdout and stderr are both
    terminals).
    """
    level = terminal.configure_verbosity()
    if level >= logging.CRITICAL:
        return None
    if live is None:
        live = _is_terminal(sys.stdout) and _is_terminal(sys.stderr)
    if terminal.live_display_active():
        live = False  # a run inside a step of another run: one live region at a time
    progress: RunProgress = LiveProgress(level) if live else LineProgress(level)
    progress.open()
    return progress


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(terminal.terminal_stream(stream).isatty())
    except (AttributeError, ValueError):
        return False
