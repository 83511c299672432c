"""``headrace artifact ...``: artifact versions, their metadata and their values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import (
    MISSING,
    format_size,
    format_time,
    short_id,
    short_repr,
    short_type,
)
from headrace.cli.output import new_table, print_table, stdout_console

if TYPE_CHECKING:
    from headrace.client import Client
    from headrace.models import ArtifactVersionResponse

app = typer.Typer(no_args_is_help=True, help="Artifacts: the versioned outputs of steps.")


@app.command("list")
def list_artifact_versions(
    name: Annotated[
        str | None, typer.Option("--name", help="Only versions of this artifact (name or id).")
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Only versions with this tag (on them or their artifact)."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many versions to show.")
    ] = 20,
) -> None:
    """List artifact versions, newest first, with the step that produced each."""
    from headrace.client import Client

    client = Client()
    filters: dict[str, object] = {"size": size, "sort_by": "desc:created"}
    if name is not None:
        # Resolved first so that a misspelt name is an error, not an empty table.
        filters["artifact_id"] = client.get_artifact(name).id
    if tag is not None:
        filters["tag"] = tag
    page = client.list_artifact_versions(**filters)
    steps = _StepNames(client)
    table = new_table("artifact", "version", "type", "size", "step", "created", "id")
    for version in page:
        table.add_row(
            version.name,
            version.version,
            short_type(version.data_type),
            format_size(version.size),
            steps.name_of(version.producer_step_run_id),
            format_time(version.created),
            short_id(version.id),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} versions; use --size to see more."
    print_table(table, "No artifact versions found.")


@app.command("show")
def show_artifact_version(
    name_or_id: Annotated[str, typer.Argument(help="Artifact name, or artifact version id.")],
    version: Annotated[
        str | None, typer.Option("--version", help="Version of the artifact (default: latest).")
    ] = None,
    value: Annotated[
        bool, typer.Option("--value", help="Also load the value and print a short repr of it.")
    ] = False,
    visualize: Annotated[
        bool,
        typer.Option(
            "--visualize", help="Also show its visualizations (HTML, Markdown, CSV, JSON)."
        ),
    ] = False,
) -> None:
    """Show one artifact version: where it is, how it was written, its metadata."""
    from headrace.client import Client

    client = Client()
    artifact_version = client.get_artifact_version(name_or_id, version)
    console = stdout_console()
    console.print(_details(artifact_version, _producer(client, artifact_version)))
    if value:
        console.print(Text("value:", style="bold"))
        console.print(short_repr(artifact_version.load()), markup=False, highlight=False)
    if visualize:
        from headrace.cli.visualizations import print_visualizations

        print_visualizations(console, artifact_version)


class _StepNames:
    """Names of producing steps, looked up once each: many versions share a step run."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._names: dict[str, str] = {}

    def name_of(self, step_run_id: str | None) -> str:
        if step_run_id is None:
            return MISSING  # saved with save_artifact outside any step
        if step_run_id not in self._names:
            self._names[step_run_id] = self._client.get_run_step(step_run_id).name
        return self._names[step_run_id]


def _producer(client: Client, version: ArtifactVersionResponse) -> str:
    """``step (run run-name)`` of the step run that made ``version``."""
    if version.producer_step_run_id is None:
        return "- (saved outside a step)"
    step = client.get_run_step(version.producer_step_run_id)
    return f"{step.name} (run {step.run.name})"


def _details(version: ArtifactVersionResponse, producer: str) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("artifact", version.name),
        ("version", version.version),
        ("id", version.id),
        ("type", version.type.value),
        ("data type", version.data_type),
        ("size", format_size(version.size)),
        ("produced by", producer),
        ("created", format_time(version.created)),
        ("uri", version.uri),
        ("stored", "inline in the database record" if version.is_inline else "artifact store"),
        ("materializer", version.materializer),
        ("content hash", version.content_hash),
        ("python", version.python_version or MISSING),
        ("tags", ", ".join(version.tags) or MISSING),
        (
            "visualizations",
            ", ".join(v.type.value for v in version.visualizations) or MISSING,
        ),
    ]
    for label, text in rows:
        grid.add_row(label, Text(text))
    grid.add_row("metadata", Text(MISSING if not version.metadata else ""))
    for key, item in sorted(version.metadata.items()):
        grid.add_row(Text(f"  {key}", style=""), Text(short_repr(item)))
    return grid
