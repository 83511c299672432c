"""Entry point of the ``headrace`` command: the command tree and error handling.

Every command module defines a small Typer app; this module mounts them, so the whole
tree is visible here::

    headrace init [PATH]
    headrace pipeline list
    headrace pipeline runs list [--tag TAG]
    headrace pipeline snapshot create | run | list | describe | config | delete
    headrace pipeline schedule list | describe | pause | resume | delete
    headrace run show RUN
    headrace logs RUN [--step NAME]
    headrace artifact list [--tag TAG] | show
    headrace model list | version list NAME | version update NAME VERSION --stage STAGE
    headrace secret create | list | describe | update | delete
    headrace pipeline snapshot access NAME [--user U] [--role R] [--clear]
    headrace server start [--host H] [--port P] [--database-url URL]
    headrace login URL [--username NAME | --api-key KEY] | logout | status
    headrace user create | list | update | deactivate
    headrace service-account create | list | update | deactivate
    headrace service-account api-key NAME create | list | revoke
    headrace stack register | list | describe | set | update | delete
    headrace orchestrator | artifact-store | alerter | deployer register | list | describe | ...
    ... update | delete
    headrace pipeline deploy --name NAME SOURCE | pipeline snapshot deploy --name NAME SNAPSHOT
    headrace deployment list | describe | invoke | logs | deprovision | delete

Errors headrace raises on purpose are the user's to fix, so they are shown as one red
``Error: ...`` line and exit code 1; ``--debug`` (or ``HEADRACE_DEBUG=true``) adds the
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from headrace.cli import (
    accounts,
    artifacts,
    clean,
    deployments,
    images,
    logs,
    models,
    pipelines,
    runs,
    schedules,
    secrets,
    server,
    session,
    snapshot_access,
    snapshots,
    stack_components,
    stacks,
    store_note,
)
from headrace.cli.output import print_error, print_traceback
from headrace.exceptions import HeadraceError
from headrace.utils.env import ENV_DEBUG
from headrace.utils.names import printable

# Errors that come from the user's input or environment rather than from a bug:
# headrace's own, and the operating system's (a missing file, a read-only directory).
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (HeadraceError, OSError)


class HeadraceGroup(TyperGroup):
    """The root command group; turns expected errors into one line and exit code 1.

    Catching here, around the whole subcommand chain, covers every command mounted
    below, including the ones later sub-apps add, and works the same under a test
    runner as in a real process.
    """

    def invoke(self, ctx: Any) -> Any:
        """Run the selected command; report expected errors instead of raising them."""
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as error:
            if ctx.params.get("debug"):
                print_traceback(error)
            print_error(error)
            raise typer.Exit(code=1) from error


app = typer.Typer(
    cls=HeadraceGroup,
    name="headrace",
    no_args_is_help=True,
    add_completion=False,
    help="headrace: ML pipelines with tracked artifacts, caching and runnable snapshots.",
    # Tracebacks of bugs must never print local variables: they may hold secret values.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=ENV_DEBUG,
            help=f"Show the full traceback of errors (also {ENV_DEBUG}=true).",
        ),
    ] = False,
) -> None:
    """headrace: ML pipelines with tracked artifacts, caching and runnable snapshots."""
    # The option is read by HeadraceGroup.invoke from the context; nothing to do here.


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Directory to make a repository.")] = Path("."),
    parents: Annotated[
        bool,
        typer.Option(
            "--parents",
            "-p",
            help="Create PATH's missing parent directories too (else only PATH may be new).",
        ),
    ] = False,
) -> None:
    """Create a headrace repository (a .headrace directory) in PATH, or reuse the one there.

    Safe to run again: an existing repository and its runs are kept. The repository gets
    a .gitignore, so its database, artifacts and secrets key never reach git.
    """
    from headrace.store.factory import init_repository
    from headrace.utils.repository import REPOSITORY_DIRECTORY_NAME

    existed = (path.resolve() / REPOSITORY_DIRECTORY_NAME).is_dir()
    directory, _ = init_repository(path, parents=parents)
    shown = printable(str(directory))
    if existed:
        typer.echo(f"Found existing headrace repository in {shown}")
    else:
        typer.echo(f"Initialized headrace repository in {shown}")


app.add_typer(pipelines.app, name="pipeline")
pipelines.app.command("build")(images.build_pipeline_image)
pipelines.app.add_typer(runs.runs_app, name="runs")
pipelines.app.add_typer(
    snapshots.app, name="snapshot", callback=store_note.note_store_outside_repository
)
pipelines.app.add_typer(schedules.app, name="schedule")
app.add_typer(runs.run_app, name="run")
app.command("logs")(logs.show_logs)
app.command("clean")(clean.clean)
app.add_typer(artifacts.app, name="artifact")
app.add_typer(models.app, name="model")
models.app.add_typer(models.version_app, name="version")
app.add_typer(secrets.app, name="secret")
snapshots.app.command("access")(snapshot_access.snapshot_access)
app.add_typer(server.app, name="server")
app.command("login")(session.login)
app.command("logout")(session.logout)
app.command("status")(session.status)
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.service_account_app, name="service-account")
accounts.service_account_app.add_typer(accounts.api_key_app, name="api-key")
app.add_typer(stacks.app, name="stack")
pipelines.app.command("deploy")(deployments.deploy_pipeline_command)
snapshots.app.command("deploy")(deployments.deploy_snapshot_command)
app.add_typer(deployments.app, name="deployment")
for _type, _name in stack_components.COMMAND_NAMES.items():
    app.add_typer(stack_components.component_app(_type), name=_name)


def main() -> None:
    """Run the CLI (the ``headrace`` console script)."""
    app()


if __name__ == "__main__":
    main()
