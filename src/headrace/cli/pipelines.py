"""``headrace pipeline ...``: the pipelines in the store.

Sub-apps (``runs``, and later ``snapshot``) are mounted on ``app`` by ``main``, which
keeps the whole command tree in one place.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.formatting import MISSING, format_time, short_id, status_text
from headrace.cli.output import new_table, print_table

app = typer.Typer(no_args_is_help=True, help="Pipelines and their runs.")


@app.command("list")
def list_pipelines(
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many pipelines to show.")
    ] = 50,
) -> None:
    """List pipelines with how often they ran and how their last run went."""
    from headrace.client import Client

    client = Client()
    page = client.list_pipelines(size=size, sort_by="asc:name")
    table = new_table("pipeline", "id", "runs", "last run", "status", "last run at")
    for pipeline in page:
        # One query gives both the count (page total) and the newest run (first item).
        runs = client.list_pipeline_runs(pipeline_id=pipeline.id, size=1, sort_by="desc:created")
        last = runs.items[0] if runs.items else None
        table.add_row(
            pipeline.name,
            short_id(pipeline.id),
            str(runs.total),
            last.name if last else MISSING,
            status_text(last.status if last else None),
            format_time(last.created if last else None),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} pipelines; use --size to see more."
    print_table(table, "No pipelines yet. Run one, then try again.")
