"""Pipeline runs: ``headrace pipeline runs list|stop|logs|resume`` and ``headrace run show``.

Two Typer apps because the commands sit at two places of the command tree; ``main``
mounts them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.formatting import format_duration, format_time, short_id, status_text
from headrace.cli.output import new_table, print_table, stdout_console
from headrace.enums import ExecutionStatus

runs_app = typer.Typer(no_args_is_help=True, help="List, stop and resume pipeline runs.")
run_app = typer.Typer(no_args_is_help=True, help="Inspect one pipeline run.")


@runs_app.command("list")
def list_runs(
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", "-p", help="Only runs of this pipeline (name or id)."),
    ] = None,
    status: Annotated[
        ExecutionStatus | None,
        typer.Option("--status", "-s", case_sensitive=False, help="Only runs in this status."),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only runs with this tag.")] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many runs to show.")
    ] = 20,
) -> None:
    """List pipeline runs, newest first."""
    from headrace.client import Client

    client = Client()
    filters: dict[str, object] = {"size": size, "sort_by": "desc:created"}
    if pipeline is not None:
        # Resolved first so that a misspelt name is an error, not an empty table.
        filters["pipeline_id"] = client.get_pipeline(pipeline).id
    if status is not None:
        filters["status"] = status
    if tag is not None:
        filters["tag"] = tag
    page = client.list_pipeline_runs(**filters)
    table = new_table("run", "pipeline", "status", "created", "duration", "id")
    for run in page:
        table.add_row(
            run.name,
            run.pipeline_name or "-",
            status_text(run.status),
            format_time(run.created),
            format_duration(run.duration),
            short_id(run.id),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} runs; use --size to see more."
    print_table(table, "No pipeline runs found.")


@runs_app.command("stop")
def stop_run(
    run: Annotated[str, typer.Argument(help="Run name, id or unique id prefix.")],
    graceful: Annotated[
        bool,
        typer.Option("--graceful", help="Start nothing new; let running steps finish."),
    ] = False,
) -> None:
    """Stop a run, wherever its driving process runs (it notices within seconds).

    A run still waiting in a server's queue is stopped at once and never starts. Running
    steps are interrupted and end stopped (with --graceful they finish); steps
    not started are skipped; completed steps and their outputs are kept.
    """
    from headrace.client import Client

    client = Client()
    before = client.get_pipeline_run(run)
    stopped = client.stop_pipeline_run(before.id, graceful=graceful)
    console = stdout_console()
    if before.status is ExecutionStatus.QUEUED and stopped.status is ExecutionStatus.STOPPED:
        console.print(
            f"Run {stopped.name!r} was queued; it is stopped and never starts.",
            markup=False,
            soft_wrap=True,
        )
        return
    if stopped.status.is_finished:
        console.print(f"Run {stopped.name!r} already ended ({stopped.status.value}).", markup=False)
        return
    how = " gracefully" if graceful else ""
    console.print(
        f"Asked run {stopped.name!r} to stop{how}. Follow it with: "
        f"headrace run show {stopped.name}",
        markup=False,
    )


@runs_app.command("logs")
def runner_logs(
    run: Annotated[str, typer.Argument(help="Run name, id or unique id prefix.")],
) -> None:
    """Print what the runner a server launched for the run printed.

    That is the run's own output (unpacking its code, starting it, errors before the
    first step); what each step printed is shown by `headrace logs RUN`.
    """
    import sys

    from headrace.cli.output import stderr_console
    from headrace.client import Client

    client = Client()
    pipeline_run = client.get_pipeline_run(run)
    text = client.get_runner_logs(pipeline_run.id)
    if not text:
        stderr_console().print(
            f"Run {pipeline_run.name!r} has no runner output (only runs a server launched "
            f"have one); its steps' logs: headrace logs {pipeline_run.name}",
            markup=False,
            soft_wrap=True,
        )
        return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


@runs_app.command("resume")
def resume_run(
    run: Annotated[str, typer.Argument(help="A failed or stopped run: name, id or prefix.")],
) -> None:
    """Run a failed or stopped run again, reusing every step it completed.

    The new run records which run it resumed. Exit code 1 unless it completes.
    """
    from headrace.client import Client
    from headrace.exceptions import RunFailedError

    console = stdout_console()
    try:
        new = Client().resume_pipeline_run(run)
    except RunFailedError as error:
        console.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(code=1) from error
    if not new.status.is_finished:  # a named snapshot's runner drives it
        new = new.wait()
    console.print(f"Run {new.name!r} (resuming {run!r}) ended {new.status.value}.", markup=False)
    if not new.status.is_successful:
        raise typer.Exit(code=1)


@run_app.command("show")
def show_run(
    run: Annotated[str, typer.Argument(help="Run name, id or unique id prefix.")],
    show_all: Annotated[
        bool, typer.Option("--all", help="List every step of a long run, not a summary.")
    ] = False,
) -> None:
    """Show a run as a tree: its steps, their status, duration, outputs and errors."""
    from headrace.cli.run_tree import build_run_tree
    from headrace.client import Client

    tree = build_run_tree(Client().get_pipeline_run(run), show_all=show_all)
    stdout_console().print(tree)
