"""``headrace pipeline schedule ...``: the schedules a headrace server runs.

A schedule is made from Python (``my_pipeline.with_options(schedule=Schedule(...))()``
against a server); these commands look at them, pause and resume them, and delete
them::

    headrace pipeline schedule list
    headrace pipeline schedule describe nightly
    headrace pipeline schedule pause nightly
    headrace pipeline schedule resume nightly     # missed fire times are skipped
    headrace pipeline schedule delete nightly --yes
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id, status_text
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console

if TYPE_CHECKING:
    from headrace.models.schedule import ScheduleResponse

app = typer.Typer(
    no_args_is_help=True,
    help="Schedules: snapshots a headrace server runs by itself (cron, interval, once).",
)

ScheduleArgument = Annotated[
    str, typer.Argument(help="Schedule name, id or unique id prefix.", show_default=False)
]


def state_of(schedule: ScheduleResponse) -> str:
    """``active``, ``paused`` or ``finished`` (it will not fire again)."""
    if not schedule.active:
        return "paused"
    return "finished" if schedule.finished else "active"


@app.command("list")
def list_schedules(
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", "-p", help="Only schedules of this pipeline (name or id)."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many schedules to show.")
    ] = 50,
) -> None:
    """List schedules, newest first, with when each runs next."""
    from headrace.client import Client
    from headrace.execution.schedules import describe_timing

    page = Client().list_schedules(pipeline=pipeline, size=size, sort_by="desc:created")
    table = new_table("schedule", "pipeline", "when", "state", "next run", "last run", "id")
    for schedule in page:
        table.add_row(
            schedule.name,
            schedule.pipeline_name or MISSING,
            describe_timing(schedule),
            state_of(schedule),
            format_time(schedule.next_run_time) if schedule.active else MISSING,
            format_time(schedule.last_run_time),
            short_id(schedule.id),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} schedules; use --size to see more."
    print_table(
        table,
        "No schedules yet; make one with my_pipeline.with_options(schedule=Schedule(...))() "
        "against a headrace server.",
    )


@app.command("describe")
def describe_schedule(schedule: ScheduleArgument) -> None:
    """Show a schedule: when it fires, its state, its snapshot and its latest runs."""
    from headrace.client import Client
    from headrace.execution.schedules import describe_timing

    client = Client()
    found = client.get_schedule(schedule)
    runs = client.list_pipeline_runs(snapshot_id=found.snapshot_id, size=5, sort_by="desc:created")
    console = stdout_console()
    console.print(Text(f"Schedule {found.name}", style="bold"))
    pairs = [
        ("id", found.id),
        ("pipeline", found.pipeline_name or MISSING),
        ("snapshot", f"{found.snapshot_name or MISSING} ({short_id(found.snapshot_id)})"),
        ("when", describe_timing(found)),
        (
            "catchup",
            "every missed fire time runs" if found.catchup else "missed fire times run once",
        ),
        ("state", state_of(found)),
        ("next run", format_time(found.next_run_time) if found.active else MISSING),
        ("last run", format_time(found.last_run_time)),
        ("created", format_time(found.created)),
        ("runs", str(runs.total)),
    ]
    width = max(len(label) for label, _ in pairs) + 1
    for label, value in pairs:
        console.print(Text.assemble(("  " + f"{label}:".ljust(width) + " ", "dim"), value))
    if found.run_configuration:
        import json

        console.print(Text("  run configuration: ", style="dim"), end="")
        console.print(json.dumps(found.run_configuration, sort_keys=True), markup=False)
    if runs.items:
        table = new_table("run", "status", "created", title="Latest runs")
        for run in runs.items:
            table.add_row(run.name, status_text(run.status), format_time(run.created))
        console.print()
        console.print(table)


@app.command("pause")
def pause_schedule(schedule: ScheduleArgument) -> None:
    """Stop a schedule from firing until it is resumed."""
    from headrace.client import Client

    updated = Client().update_schedule(schedule, active=False)
    stdout_console().print(
        f"Paused schedule {updated.name!r}; resume it with: headrace pipeline schedule "
        f"resume {updated.name}",
        markup=False,
    )


@app.command("resume")
def resume_schedule(schedule: ScheduleArgument) -> None:
    """Let a paused schedule fire again (fire times missed while paused are skipped)."""
    from headrace.client import Client

    updated = Client().update_schedule(schedule, active=True)
    upcoming = format_time(updated.next_run_time) if updated.next_run_time else "never"
    stdout_console().print(
        f"Resumed schedule {updated.name!r}; next run at {upcoming}.", markup=False
    )


@app.command("delete")
def delete_schedule(
    schedule: ScheduleArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a schedule; asks first unless --yes. Its snapshot and runs stay."""
    from headrace.client import Client

    client = Client()
    found = client.get_schedule(schedule)
    question = f"Delete schedule {found.name!r} of pipeline {found.pipeline_name!r}?"
    if not yes and not typer.confirm(question, default=False):
        stderr_console().print(f"Kept schedule {found.name!r}.", markup=False)
        return
    client.delete_schedule(found.id)
    stdout_console().print(
        f"Deleted schedule {found.name!r}; its snapshot {found.snapshot_name!r} and its runs "
        "are kept.",
        markup=False,
    )
