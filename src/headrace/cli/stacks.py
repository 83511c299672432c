"""``headrace stack ...``: stacks, one component per type, and the active stack.

::

    headrace stack register NAME -o ORCHESTRATOR -a ARTIFACT_STORE [-al ALERTER] [-D DEPLOYER]
        [--set]
    headrace stack list | describe [NAME] | set NAME | delete NAME
    headrace stack update NAME [-o ...] [-a ...] [-al ... | --no-alerter] [-D ... | --no-deployer]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.cli.stack_components import configuration_items
from headrace.enums import StackComponentType
from headrace.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headrace.models import StackResponse

app = typer.Typer(no_args_is_help=True, help="Stacks: where runs execute and where artifacts live.")

NameArgument = Annotated[str, typer.Argument(help="Stack name or id.", show_default=False)]
OrchestratorOption = Annotated[
    str | None, typer.Option("--orchestrator", "-o", help="Orchestrator name or id.")
]
ArtifactStoreOption = Annotated[
    str | None, typer.Option("--artifact-store", "-a", help="Artifact store name or id.")
]
AlerterOption = Annotated[str | None, typer.Option("--alerter", "-al", help="Alerter name or id.")]
DeployerOption = Annotated[
    str | None, typer.Option("--deployer", "-D", help="Deployer name or id.")
]


@app.command("register")
def register_stack(
    name: Annotated[str, typer.Argument(help="Name of the new stack.", show_default=False)],
    orchestrator: OrchestratorOption = None,
    artifact_store: ArtifactStoreOption = None,
    alerter: AlerterOption = None,
    deployer: DeployerOption = None,
    set_active: Annotated[
        bool, typer.Option("--set", help="Make it the active stack too.")
    ] = False,
) -> None:
    """Register stack NAME from registered components (an orchestrator and an artifact
    store are required).

    Example: headrace stack register cluster -o ray-cluster -a default --set
    """
    from headrace.client import Client

    if orchestrator is None or artifact_store is None:
        raise ConfigurationError(
            "A stack needs an orchestrator and an artifact store: "
            f"headrace stack register {name} -o ORCHESTRATOR -a ARTIFACT_STORE [-al ALERTER] "
            "(see: headrace orchestrator list, headrace artifact-store list)."
        )
    components = {
        StackComponentType.ORCHESTRATOR: orchestrator,
        StackComponentType.ARTIFACT_STORE: artifact_store,
    }
    if alerter is not None:
        components[StackComponentType.ALERTER] = alerter
    if deployer is not None:
        components[StackComponentType.DEPLOYER] = deployer
    client = Client()
    stack = client.create_stack(name, components)
    _say(f"Registered stack {stack.name!r}.")
    if set_active:
        client.activate_stack(stack.id)
        _say(f"Active stack: {stack.name!r}.")


@app.command("list")
def list_stacks() -> None:
    """List stacks with their components; * marks the active stack."""
    from headrace.client import Client

    client = Client()
    active = client.active_stack
    table = new_table(
        "active", "stack", "orchestrator", "artifact store", "alerter", "deployer", "id"
    )
    for stack in client.list_stacks(size=10_000):
        table.add_row(
            "*" if stack.id == active.id else "",
            stack.name,
            *(_component_name(stack, t) for t in StackComponentType),
            short_id(stack.id),
        )
    print_table(table, "No stacks.")


@app.command("describe")
def describe_stack(
    name: Annotated[
        str | None, typer.Argument(help="Stack name or id (default: the active stack).")
    ] = None,
) -> None:
    """Show a stack and the flavor and configuration of each of its components."""
    from headrace.client import Client

    client = Client()
    stack = client.get_stack(name)
    active = client.active_stack.id == stack.id
    stdout_console().print(_details(stack, active))


@app.command("set")
def set_stack(name: NameArgument) -> None:
    """Make stack NAME the active one: runs and new snapshots of this store use it."""
    from headrace.client import Client

    stack = Client().activate_stack(name)
    _say(f"Active stack: {stack.name!r}.")


@app.command("update")
def update_stack(
    name: NameArgument,
    orchestrator: OrchestratorOption = None,
    artifact_store: ArtifactStoreOption = None,
    alerter: AlerterOption = None,
    no_alerter: Annotated[
        bool, typer.Option("--no-alerter", help="Remove the stack's alerter.")
    ] = False,
    deployer: DeployerOption = None,
    no_deployer: Annotated[
        bool, typer.Option("--no-deployer", help="Remove the stack's deployer.")
    ] = False,
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
) -> None:
    """Replace components of stack NAME, or rename it."""
    from headrace.client import Client

    updates: dict[StackComponentType, str | None] = {}
    if orchestrator is not None:
        updates[StackComponentType.ORCHESTRATOR] = orchestrator
    if artifact_store is not None:
        updates[StackComponentType.ARTIFACT_STORE] = artifact_store
    if alerter is not None and no_alerter:
        raise ConfigurationError("Give either --alerter or --no-alerter, not both.")
    if alerter is not None or no_alerter:
        updates[StackComponentType.ALERTER] = alerter
    if deployer is not None and no_deployer:
        raise ConfigurationError("Give either --deployer or --no-deployer, not both.")
    if deployer is not None or no_deployer:
        updates[StackComponentType.DEPLOYER] = deployer
    if not updates and new_name is None:
        raise ConfigurationError(
            f"Nothing to update in stack {name!r}: give -o, -a, -al, --no-alerter, -D, "
            "--no-deployer or --name."
        )
    stack = Client().update_stack(name, name=new_name, component_updates=updates)
    _say(f"Updated stack {stack.name!r}.")


@app.command("delete")
def delete_stack(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a stack (its components stay); the default and the active stack are kept."""
    from headrace.client import Client

    client = Client()
    stack = client.get_stack(name)
    if not yes and not typer.confirm(f"Delete stack {stack.name!r}?", default=False):
        stderr_console().print(f"Kept stack {stack.name!r}.", markup=False)
        return
    client.delete_stack(stack.id)
    _say(f"Deleted stack {stack.name!r}.")


def _component_name(stack: StackResponse, type: StackComponentType) -> str:
    component = stack.component(type)
    return MISSING if component is None else component.name


def _details(stack: StackResponse, active: bool) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("stack", f"{stack.name} (active)" if active else stack.name),
        ("id", stack.id),
        ("created", format_time(stack.created)),
    ]
    for type in StackComponentType:
        component = stack.component(type)
        if component is None:
            rows.append((type.label, MISSING))
            continue
        rows.append((type.label, f"{component.name} (flavor {component.flavor})"))
        rows += [(f"  {k}", v) for k, v in configuration_items(component.configuration)]
    for label, text in rows:
        grid.add_row(label, Text(text))
    return grid


def _say(message: str) -> None:
    stdout_console().print(message, markup=False, soft_wrap=True)
