"""``headrace deployment ...`` and the deploy commands: snapshots served over HTTP.

::

    headrace pipeline deploy --name NAME module.pipeline [--no-tracking] [--no-auth]
    headrace pipeline snapshot deploy --name NAME SNAPSHOT [...]
    headrace deployment list | describe NAME | invoke NAME --PARAM=VALUE ...
    headrace deployment logs NAME [--follow] | deprovision NAME | delete NAME

``invoke`` reads ``--PARAM=VALUE`` values as JSON where they parse (``3``, ``true``,
``[1, 2]``), else as text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headrace.deployments.manage import Deployed
    from headrace.models import DeploymentResponse

app = typer.Typer(no_args_is_help=True, help="Deployments: snapshots served as HTTP services.")

NameArgument = Annotated[str, typer.Argument(help="Deployment name or id.", show_default=False)]
DeploymentName = Annotated[
    str, typer.Option("--name", "-n", help="Name of the new deployment.", show_default=False)
]
TrackingOption = Annotated[
    bool | None,
    typer.Option(
        "--tracking/--no-tracking",
        help="Record each invocation as a run (default: the deployer's setting, on).",
        show_default=False,
    ),
]
AuthOption = Annotated[
    bool,
    typer.Option("--auth/--no-auth", help="Require a bearer key (generated, shown once)."),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="Invocations served at once (default: the deployer's)."),
]
PortOption = Annotated[
    int | None, typer.Option("--port", min=1, max=65535, help="Port (local: default a free one).")
]
StackOption = Annotated[
    str | None,
    typer.Option("--stack", "-s", help="Stack whose deployer serves it (default: active)."),
]
ACCEPT_VALUES: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


def deploy_pipeline_command(
    source: Annotated[
        str,
        typer.Argument(
            help="The pipeline as module.name (run.my_pipeline for my_pipeline in run.py).",
            show_default=False,
        ),
    ],
    name: DeploymentName,
    tracking: TrackingOption = None,
    auth: AuthOption = True,
    threads: ThreadsOption = None,
    port: PortOption = None,
    stack: StackOption = None,
) -> None:
    """Snapshot pipeline SOURCE (as deployment-NAME) and serve it as deployment NAME.

    Example: headrace pipeline deploy --name scorer run.scoring_pipeline
    """
    from headrace.deployments.manage import deploy_pipeline
    from headrace.snapshots.project import load_pipeline, project_on_path, project_root

    with project_on_path(project_root()):
        pipeline = load_pipeline(source)
        deployed = deploy_pipeline(
            pipeline, name, tracking=tracking, auth=auth, threads=threads, port=port, stack=stack
        )
    _print_deployed(deployed)


def deploy_snapshot_command(
    snapshot: Annotated[str, typer.Argument(help="Snapshot name or id.", show_default=False)],
    name: DeploymentName,
    tracking: TrackingOption = None,
    auth: AuthOption = True,
    threads: ThreadsOption = None,
    port: PortOption = None,
    stack: StackOption = None,
) -> None:
    """Serve SNAPSHOT as deployment NAME: POST /invoke runs it with parameters.

    Example: headrace pipeline snapshot deploy --name scorer nightly --no-tracking
    """
    from headrace.deployments.manage import deploy_snapshot

    deployed = deploy_snapshot(
        snapshot, name, tracking=tracking, auth=auth, threads=threads, port=port, stack=stack
    )
    _print_deployed(deployed)


@app.command("list")
def list_command() -> None:
    """List deployments with their status and URL (a crashed service shows failed)."""
    from headrace.deployments.manage import list_deployments

    table = new_table("name", "status", "url", "flavor", "tracking", "created", "id")
    for deployment in list_deployments():
        table.add_row(
            deployment.name,
            deployment.status.value,
            deployment.url or MISSING,
            deployment.flavor,
            "on" if deployment.configuration.get("tracking", True) else "off",
            format_time(deployment.created),
            short_id(deployment.id),
        )
    print_table(table, "No deployments; make one with: headrace pipeline deploy --name NAME SOURCE")


@app.command("describe")
def describe_command(name: NameArgument) -> None:
    """Show a deployment: status, URL, snapshot, limits and how to call it."""
    from headrace.deployments.manage import get_deployment

    stdout_console().print(_details(get_deployment(name)))


@app.command("invoke", context_settings=ACCEPT_VALUES)
def invoke_command(
    ctx: typer.Context,
    name: NameArgument,
    auth_key: Annotated[
        str | None,
        typer.Option(
            "--auth-key",
            envvar="HEADRACE_DEPLOYMENT_KEY",
            help="The deployment's bearer key (or a server token).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run deployment NAME once with --PARAM=VALUE parameters; prints its JSON answer.

    Example: headrace deployment invoke scorer --rows=5 --prefix=item
    """
    from headrace.deployments.manage import invoke_deployment

    answer = invoke_deployment(name, parse_parameters(ctx.args), key=auth_key)
    typer.echo(json.dumps(answer, indent=2))


@app.command("logs")
def logs_command(
    name: NameArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the service stops.")
    ] = False,
) -> None:
    """Print the output of deployment NAME's service."""
    from headrace.deployments.manage import deployment_logs

    for line in deployment_logs(name, follow=follow):
        typer.echo(line)


@app.command("deprovision")
def deprovision_command(name: NameArgument) -> None:
    """Stop deployment NAME's service; its record stays (stopped)."""
    from headrace.deployments.manage import deprovision_deployment

    deployment = deprovision_deployment(name)
    _say(f"Deployment {deployment.name!r} is {deployment.status.value}.")


@app.command("delete")
def delete_command(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Stop deployment NAME's service if it runs and delete its record; asks first."""
    from headrace.deployments.manage import delete_deployment

    if not yes and not typer.confirm(f"Delete deployment {name!r}?", default=False):
        stderr_console().print(f"Kept deployment {name!r}.", markup=False)
        return
    delete_deployment(name)
    _say(f"Deleted deployment {name!r}.")


def parse_parameters(args: list[str]) -> dict[str, Any]:
    """``--PARAM=VALUE`` / ``--PARAM VALUE`` pairs; values are JSON where they parse.

    Raises:
        ConfigurationError: a word that is not part of a pair, or a parameter given twice.
    """
    values: dict[str, Any] = {}
    tokens = iter(args)
    for token in tokens:
        if not token.startswith("--") or len(token) < 3:
            raise ConfigurationError(
                f"Unexpected argument {token!r}; give parameters as --PARAM=VALUE."
            )
        key, equals, text = token[2:].partition("=")
        if not equals:
            following = next(tokens, None)
            if following is None:
                raise ConfigurationError(f"Parameter {key!r} has no value; write --{key}=VALUE.")
            text = following
        if key in values:
            raise ConfigurationError(f"Parameter {key!r} is given more than once.")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


def _print_deployed(deployed: Deployed) -> None:
    deployment = deployed.deployment
    _say(f"Deployment {deployment.name!r} is {deployment.status.value}.")
    if deployment.url:
        _say(f"URL: {deployment.url} (POST {deployment.url}/invoke, docs at {deployment.url}/docs)")
    if deployment.status_reason:
        _say(deployment.status_reason)
    if deployed.key is not None:
        _say(f"Bearer key (shown only now, store it): {deployed.key}")


def _details(deployment: DeploymentResponse) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    configuration = deployment.configuration
    rows = [
        ("deployment", deployment.name),
        ("id", deployment.id),
        ("status", deployment.status.value),
        ("reason", deployment.status_reason or MISSING),
        ("url", deployment.url or MISSING),
        ("snapshot", deployment.snapshot_id),
        ("flavor", deployment.flavor),
        ("tracking", "on" if configuration.get("tracking", True) else "off"),
        ("threads", str(configuration.get("threads", MISSING))),
        ("max request bytes", str(configuration.get("max_request_bytes", MISSING))),
        ("bearer key", "required" if deployment.has_auth_key else "none"),
        ("created", format_time(deployment.created)),
        ("updated", format_time(deployment.updated)),
    ]
    for key, value in sorted(deployment.handle.items()):
        shown = value if isinstance(value, str) else json.dumps(value)
        rows.append((f"  {key}", shown))
    for label, text in rows:
        grid.add_row(label, Text(text))
    return grid


def _say(message: str) -> None:
    stdout_console().print(message, markup=False, soft_wrap=True)
