"""``headrace logs RUN``: what the steps of a run printed and logged.

Log text is written to stdout exactly as it was captured (no markup, no wrapping, no
colour stripping), so ``headrace logs RUN --step NAME > file`` gives back the step's own
output; headers and notes are the only lines the CLI adds, and ``--step`` adds none.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from headrace.cli.formatting import status_text
from headrace.cli.output import stderr_console, stdout_console
from headrace.cli.run_tree import hook_error_text
from headrace.exceptions import HeadraceError

if TYPE_CHECKING:
    from headrace.models import StepRunResponse

NO_OUTPUT = "(no output captured)"


def show_logs(
    run: Annotated[str, typer.Argument(help="Run name, id or unique id prefix.")],
    step: Annotated[
        str | None,
        typer.Option(
            "--step", "-s", help="Only this step's text, without a header (for pipes and files)."
        ),
    ] = None,
) -> None:
    """Print what each step of a run printed and logged, step by step in run order."""
    from headrace.client import Client

    client = Client()
    if step is not None:
        # get_run_logs refuses an unknown step with a message that lists the run's steps.
        _print_step_text(client.get_run_logs(run, step=step)[step])
        return
    pipeline_run = client.get_pipeline_run(run)
    steps = pipeline_run.steps
    if not steps:
        reason = f": {pipeline_run.status_reason}" if pipeline_run.status_reason else "."
        stderr_console().print(
            f"Run {pipeline_run.name!r} has no steps{reason}", markup=False, soft_wrap=True
        )
        return
    for index, (name, step_run) in enumerate(steps.items()):
        if index:
            typer.echo()  # a blank line between sections, none before the first header
        _print_section(name, step_run)
    if pipeline_run.hook_errors:
        typer.echo()
        console = stdout_console()
        console.print(Text.assemble(("==> ", "dim"), ("pipeline hooks", "bold")), soft_wrap=True)
        for error in pipeline_run.hook_errors:
            console.print(hook_error_text(error), soft_wrap=True)


def _print_step_text(text: str) -> None:
    """One step's text as captured; an empty capture leaves stdout empty too."""
    if not text:
        stderr_console().print(NO_OUTPUT, style="dim", markup=False)
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def _print_section(name: str, step_run: StepRunResponse) -> None:
    """A ``==> name  status`` header, then the step's text or a dim note."""
    console = stdout_console()
    console.print(
        Text.assemble(("==> ", "dim"), (name, "bold"), "  ", status_text(step_run.status)),
        soft_wrap=True,
    )
    _print_step_log(step_run)
    for error in step_run.hook_errors:  # hooks run after the step's log was written
        console.print(hook_error_text(error), soft_wrap=True)


def _print_step_log(step_run: StepRunResponse) -> None:
    console = stdout_console()
    try:
        text = step_run.logs
    except (HeadraceError, OSError) as error:
        # One unreadable log file (moved artifact store, deleted file) should not hide
        # the logs of the other steps.
        console.print(f"(logs cannot be read: {error})", style="red", markup=False)
        return
    if not text:
        console.print(NO_OUTPUT, style="dim", markup=False)
        return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
