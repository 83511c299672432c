"""``headrace model ...``: models, their versions, and promoting versions to stages.

::

    headrace model list [--tag TAG]
    headrace model version list NAME [--stage STAGE] [--tag TAG]
    headrace model version update NAME VERSION --stage production [--force]
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id
from headrace.cli.output import new_table, print_table, stdout_console
from headrace.enums import ModelStages

app = typer.Typer(no_args_is_help=True, help="Models and their versions.")
version_app = typer.Typer(no_args_is_help=True, help="Versions of a model.")

_STAGE_STYLES = {
    ModelStages.PRODUCTION: "green",
    ModelStages.STAGING: "yellow",
    ModelStages.ARCHIVED: "dim",
}


def _stage_text(stage: ModelStages | None) -> Text:
    if stage is None:
        return Text(MISSING)
    return Text(stage.value, style=_STAGE_STYLES.get(stage, ""))


@app.command("list")
def list_models(
    tag: Annotated[str | None, typer.Option("--tag", help="Only models with this tag.")] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many models to show.")
    ] = 50,
) -> None:
    """List models by name, with their number of versions and tags."""
    from headrace.client import Client

    page = Client().list_models(size=size, sort_by="asc:name", tag=tag)
    table = new_table("model", "versions", "tags", "created", "id")
    for model in page:
        table.add_row(
            model.name,
            str(model.latest_version_number),
            ", ".join(model.tags) or MISSING,
            format_time(model.created),
            short_id(model.id),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} models; use --size to see more."
    print_table(table, "No models found.")


@version_app.command("list")
def list_versions(
    model: Annotated[str, typer.Argument(help="Model name or id.")],
    stage: Annotated[
        ModelStages | None,
        typer.Option("--stage", case_sensitive=False, help="Only versions in this stage."),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only versions with this tag.")] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many versions to show.")
    ] = 50,
) -> None:
    """List the versions of a model, newest first, with their stage and linked runs."""
    from headrace.client import Client

    client = Client()
    page = client.list_model_versions(
        model,
        size=size,
        sort_by="desc:number",
        stage=None if stage is ModelStages.LATEST else stage,
        tag=tag,
    )
    if stage is ModelStages.LATEST:
        page.items = page.items[:1]
    table = new_table("version", "number", "stage", "runs", "tags", "created", "id")
    for version in page:
        runs = client.list_pipeline_runs(model_version_id=version.id, size=1)
        table.add_row(
            version.name,
            str(version.number),
            _stage_text(version.stage),
            str(runs.total),
            ", ".join(version.tags) or MISSING,
            format_time(version.created),
            short_id(version.id),
        )
    if page.total > len(page) and stage is not ModelStages.LATEST:
        table.caption = f"{len(page)} of {page.total} versions; use --size to see more."
    print_table(table, f"No versions of model {model!r} found.")


@version_app.command("update")
def update_version(
    model: Annotated[str, typer.Argument(help="Model name or id.")],
    version: Annotated[str, typer.Argument(help="Version name, number or id.")],
    stage: Annotated[
        ModelStages | None,
        typer.Option(
            "--stage",
            "-s",
            case_sensitive=False,
            help="Put the version in this stage (staging, production, archived, none).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Take the stage from the version that holds it (that version is archived).",
        ),
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Rename the version.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="New description.")
    ] = None,
) -> None:
    """Promote (or rename, or describe) a model version."""
    from headrace.client import Client

    if stage is None and name is None and description is None:
        raise typer.BadParameter("nothing to change: give --stage, --name or --description.")
    updated = Client().update_model_version(
        model, version, stage=stage, force=force, name=name, description=description
    )
    stage_text = updated.stage.value if updated.stage else "none"
    stdout_console().print(
        f"Model {updated.model_name!r} version {updated.name!r} "
        f"(number {updated.number}) is in stage {stage_text}.",
        markup=False,
    )
