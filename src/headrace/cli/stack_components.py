"""``headrace orchestrator|artifact-store|alerter|deployer ...``: stack components.

One command group per component type, made by the same factory::

    headrace orchestrator register NAME --flavor=local|ray [--KEY=VALUE ...]
    headrace artifact-store register NAME --flavor=local --path=DIR
    headrace alerter register NAME --flavor=webhook --url=URL
    headrace deployer register NAME --flavor=local|docker|kubernetes [--KEY=VALUE ...]
    headrace <type> list | describe [NAME] | update NAME --KEY=VALUE ... | delete NAME
    headrace <type> flavor list

``--KEY=VALUE`` values are read as JSON where they parse (``4``, ``true``, ``null``,
``{"a": 1}``), else as text, and checked by the flavor's configuration model: an
unknown key is refused naming the closest valid key and the allowed ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import MISSING, format_time, short_id
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.enums import StackComponentType
from headrace.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headrace.models import StackComponentResponse

# Commands that take --KEY=VALUE pairs: Click passes the options it does not know on.
ACCEPT_VALUES: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}
# Configuration keys whose values are not printed (they may hold tokens).
_HIDDEN_KEYS = frozenset({"headers"})

COMMAND_NAMES: dict[StackComponentType, str] = {
    StackComponentType.ORCHESTRATOR: "orchestrator",
    StackComponentType.ARTIFACT_STORE: "artifact-store",
    StackComponentType.ALERTER: "alerter",
    StackComponentType.DEPLOYER: "deployer",
}
_EXAMPLES: dict[StackComponentType, str] = {
    StackComponentType.ORCHESTRATOR: "headrace orchestrator register ray-cluster --flavor=ray "
    "--address=127.0.0.1:6379",
    StackComponentType.ARTIFACT_STORE: "headrace artifact-store register shared --flavor=local "
    "--path=/data/artifacts",
    StackComponentType.ALERTER: "headrace alerter register team --flavor=webhook "
    "--url=https://hooks.example.com/T0",
    StackComponentType.DEPLOYER: "headrace deployer register here --flavor=local --threads=16",
}

# Module level: with postponed annotations, Typer resolves these names in the module.
ComponentName = Annotated[
    str, typer.Argument(help="Name or id of the component.", show_default=False)
]


def component_app(type: StackComponentType) -> typer.Typer:
    """The command group of one component type."""
    command = COMMAND_NAMES[type]
    app = typer.Typer(no_args_is_help=True, help=f"Stack components of type {type.label}.")
    flavor_app = typer.Typer(no_args_is_help=True, help=f"Flavors of {type.label}.")
    app.add_typer(flavor_app, name="flavor")

    @app.command("register", context_settings=ACCEPT_VALUES)
    def register(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Name of the new component.", show_default=False)],
        flavor: Annotated[
            str,
            typer.Option("--flavor", "-f", help="Flavor (see: flavor list).", show_default=False),
        ],
    ) -> None:
        from headrace.client import Client
        from headrace.stacks.flavors import get_flavor

        _check_name(name, command)
        values = parse_configuration(get_flavor(type, flavor), ctx.args)
        component = Client().create_stack_component(name, flavor, type, values)
        _say(f"Registered {type.label} {component.name!r} (flavor {component.flavor}).")

    register.__doc__ = (
        f"Register {type.label} NAME of a flavor, configured with --KEY=VALUE pairs.\n\n"
        f"Example: {_EXAMPLES[type]}"
    )

    @app.command("list")
    def list_components(
        flavor: Annotated[str | None, typer.Option("--flavor", help="Only this flavor.")] = None,
    ) -> None:
        from headrace.client import Client

        client = Client()
        active = client.active_stack.component(type)
        table = new_table("active", "name", "flavor", "configuration", "id")
        page = client.list_stack_components(type=type, flavor=flavor, size=10_000)
        for component in page:
            table.add_row(
                "*" if active is not None and active.id == component.id else "",
                component.name,
                component.flavor,
                Text(_configuration_text(component.configuration)),
                short_id(component.id),
            )
        print_table(table, f"No {type.label} registered; register one with: {_EXAMPLES[type]}")

    list_components.__doc__ = f"List the registered {type.label}s (* marks the active stack's)."

    @app.command("describe")
    def describe(
        name: Annotated[
            str | None,
            typer.Argument(help="Name or id (default: the active stack's).", show_default=False),
        ] = None,
    ) -> None:
        from headrace.client import Client

        client = Client()
        component = client.get_stack_component(type, name)
        stacks = [s.name for s in client.list_stacks(component_id=component.id, size=10_000)]
        stdout_console().print(_details(component, stacks))

    describe.__doc__ = f"Show a {type.label}: its flavor, configuration and the stacks using it."

    @app.command("update", context_settings=ACCEPT_VALUES)
    def update(
        ctx: typer.Context,
        name: ComponentName,
        new_name: Annotated[
            str | None, typer.Option("--name", help="A new name for the component.")
        ] = None,
    ) -> None:
        from headrace.client import Client
        from headrace.stacks.flavors import get_flavor

        _check_name(name, command)
        client = Client()
        current = client.get_stack_component(type, name)
        values = parse_configuration(get_flavor(type, current.flavor), ctx.args)
        if not values and new_name is None:
            raise ConfigurationError(
                f"Nothing to update in {type.label} {current.name!r}: give --KEY=VALUE pairs "
                "(--KEY=null resets a key to its default) or --name NEW_NAME."
            )
        updated = client.update_stack_component(
            current.id, type, name=new_name, configuration=values or None
        )
        _say(f"Updated {type.label} {updated.name!r}.")

    update.__doc__ = (
        f"Change {type.label} NAME: set --KEY=VALUE pairs (--KEY=null resets one), "
        "or rename it with --name."
    )

    @app.command("delete")
    def delete(
        name: ComponentName,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    ) -> None:
        from headrace.client import Client

        client = Client()
        component = client.get_stack_component(type, name)
        question = f"Delete {type.label} {component.name!r}?"
        if not yes and not typer.confirm(question, default=False):
            stderr_console().print(f"Kept {type.label} {component.name!r}.", markup=False)
            return
        client.delete_stack_component(component.id, type)
        _say(f"Deleted {type.label} {component.name!r}.")

    delete.__doc__ = f"Delete a {type.label} that no stack uses; asks first unless --yes."

    @flavor_app.command("list")
    def list_flavors() -> None:
        from headrace.stacks.flavors import list_flavors as registered

        table = new_table("flavor", "keys", "implementation")
        for flavor in registered(type):
            table.add_row(flavor.name, ", ".join(flavor.allowed_keys), flavor.implementation_source)
        print_table(table, f"No {type.label} flavors.")

    list_flavors.__doc__ = f"List the flavors of {type.label} and the keys each accepts."
    return app


# -- arguments ---------------------------------------------------------------------------
def parse_configuration(flavor: Any, args: list[str]) -> dict[str, Any]:
    """The ``--KEY=VALUE`` / ``--KEY VALUE`` pairs of ``args``, values typed for ``flavor``.

    Keys may be written with dashes (``--max-parallelism``); unknown keys are left for
    the flavor's check, which names the closest valid one.

    Raises:
        ConfigurationError: a word that is not part of a pair, or a key given twice.
    """
    from headrace.stacks.flavors import parse_value

    values: dict[str, Any] = {}
    for key, text in _pairs(iter(args)):
        if key in values:
            raise ConfigurationError(f"Key {key!r} is given more than once.")
        values[key] = parse_value(flavor, key, text)
    return values


def _pairs(tokens: Iterator[str]) -> Iterator[tuple[str, str]]:
    for token in tokens:
        if not token.startswith("--") or len(token) < 3:
            raise ConfigurationError(
                f"Unexpected argument {token!r}; give configuration as --KEY=VALUE."
            )
        key, equals, text = token[2:].partition("=")
        if not equals:
            following = next(tokens, None)
            if following is None or following.startswith("--"):
                raise ConfigurationError(f"Key {key!r} has no value; write --{key}=VALUE.")
            text = following
        yield key.replace("-", "_"), text


def _check_name(name: str, command: str) -> None:
    if name.startswith("-") or "=" in name:
        raise ConfigurationError(
            f"Give the name first, then the options: headrace {command} register NAME "
            "--flavor=FLAVOR --KEY=VALUE. A name cannot start with '-' or contain '='."
        )


# -- output ------------------------------------------------------------------------------
def configuration_items(configuration: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, value)`` pairs to print; values of keys that may hold tokens are hidden."""
    items = []
    for key in sorted(configuration):
        value = configuration[key]
        if key in _HIDDEN_KEYS and isinstance(value, dict):
            value = {k: "***" for k in value}
        items.append((key, value if isinstance(value, str) else json.dumps(value)))
    return items


def _configuration_text(configuration: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in configuration_items(configuration)) or MISSING


def _details(component: StackComponentResponse, stacks: list[str]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        (component.type.label, component.name),
        ("id", component.id),
        ("flavor", component.flavor),
        ("created", format_time(component.created)),
        ("used by stacks", ", ".join(stacks) or MISSING),
    ]
    rows += [(f"  {key}", value) for key, value in configuration_items(component.configuration)]
    for label, text in rows:
        grid.add_row(label, Text(text))
    return grid


def _say(message: str) -> None:
    """A one-line result; plain text because names may contain ``[``."""
    stdout_console().print(message, markup=False, soft_wrap=True)
