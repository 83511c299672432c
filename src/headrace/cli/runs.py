"""Pipeline runs: ``headrace pipeline runs list`` and ``headrace run show``.

Two Typer apps because the commands sit at two places of the command tree; ``main``
mounts them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.formatting import format_duration, format_time, short_id, status_text
from headrace.cli.output import new_table, print_table, stdout_console
from headrace.enums import ExecutionStatus

runs_app = typer.Typer(no_args_is_help=True, help="List pipeline runs.")
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
