"""``headrace secret ...``: named key/value sets, stored encrypted, that runs receive as
environment variables (each key upper-cased).

Values go in and never come out: no command prints a value, in a result, a prompt or an
error. Errors about ``--KEY=VALUE`` arguments name keys at most, never a token, because
any token the user typed may be (part of) a value. Tracebacks of bugs do not show local
variables (``pretty_exceptions_show_locals=False`` on the root app in ``main``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import format_time, short_id
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.exceptions import ConfigurationError
from headrace.utils.names import secret_name_problem

if TYPE_CHECKING:
    from headrace.client import Client
    from headrace.models import SecretResponse

app = typer.Typer(
    no_args_is_help=True,
    help="Secrets: encrypted values that runs get as environment variables.",
)

# Commands that take --KEY=VALUE pairs: Click passes the options it does not know, and
# the words that follow them, on to ctx.args instead of refusing them.
_ACCEPT_VALUES: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}

_VALUE_SYNTAX = "give values as --KEY=VALUE (quote a value that contains spaces)"

NewName = Annotated[str, typer.Argument(help="Name of the new secret.", show_default=False)]
NameArgument = Annotated[str, typer.Argument(help="Secret name or id.", show_default=False)]


@app.command("create", context_settings=_ACCEPT_VALUES)
def create_secret(ctx: typer.Context, name: NewName) -> None:
    """Create secret NAME from --KEY=VALUE (or --KEY VALUE) pairs.

    Example: headrace secret create aws --access_key_id=AKIA... --region=eu-west-1
    """
    from headrace.client import Client

    _check_name(name, "create")
    values = parse_values(ctx.args)
    if not values:
        raise ConfigurationError(
            f"Secret {name!r} needs at least one value: "
            f"headrace secret create {name} --KEY=VALUE [--KEY2=VALUE2 ...]"
        )
    secret = Client().create_secret(name, values=values)
    _say(f"Created secret {secret.name!r} with keys: {', '.join(secret.keys)}.")


@app.command("list")
def list_secrets() -> None:
    """List secrets with the names of their keys (never their values)."""
    from headrace.client import Client

    table = new_table("secret", "keys", "created", "id")
    for secret in Client().list_secrets():
        table.add_row(
            secret.name, ", ".join(secret.keys), format_time(secret.created), short_id(secret.id)
        )
    print_table(table, "No secrets yet; create one with: headrace secret create NAME --KEY=VALUE")


@app.command("describe")
def describe_secret(name: NameArgument) -> None:
    """Show a secret's name, id, creation time and keys (never its values)."""
    from headrace.client import Client

    stdout_console().print(_details(find_secret(Client(), name)))


@app.command("update", context_settings=_ACCEPT_VALUES)
def update_secret(
    ctx: typer.Context,
    name: NameArgument,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Drop the keys not given (default: keep them)."),
    ] = False,
) -> None:
    """Set keys of secret NAME from --KEY=VALUE pairs; other keys are kept unless --replace.

    Example: headrace secret update aws --region=us-east-1
    """
    from headrace.client import Client

    _check_name(name, "update")
    values = parse_values(ctx.args)
    if not values:
        raise ConfigurationError(
            f"Nothing to update in secret {name!r}: "
            f"headrace secret update {name} --KEY=VALUE [--KEY2=VALUE2 ...] [--replace]"
        )
    client = Client()
    before = find_secret(client, name)
    after = client.update_secret(before.id, values, replace=replace)
    removed = sorted(set(before.keys) - set(after.keys))
    dropped = f"; removed {', '.join(removed)}" if removed else ""
    _say(
        f"Updated secret {after.name!r}: set {', '.join(sorted(values))}{dropped}. "
        f"Keys: {', '.join(after.keys)}."
    )


@app.command("delete")
def delete_secret(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a secret; asks first unless --yes. Runs that need it will then fail to start."""
    from headrace.client import Client

    client = Client()
    secret = find_secret(client, name)
    question = f"Delete secret {secret.name!r} (keys: {', '.join(secret.keys)})?"
    if not yes and not typer.confirm(question, default=False):
        stderr_console().print(f"Kept secret {secret.name!r}.", markup=False)
        return
    client.delete_secret(secret.id)
    _say(f"Deleted secret {secret.name!r}.")


# -- arguments ---------------------------------------------------------------------------
def parse_values(args: list[str]) -> dict[str, str]:
    """The ``--KEY=VALUE`` and ``--KEY VALUE`` pairs of the extra arguments.

    Raises:
        ConfigurationError: a token is not part of a pair, a key is empty, has no value
            or comes twice. The message quotes keys only: any other token may be a value.
    """
    values: dict[str, str] = {}
    for key, value in _pairs(iter(args)):
        if not key:
            raise ConfigurationError(f"A key is empty; {_VALUE_SYNTAX}.")
        if key in values:
            raise ConfigurationError(f"Key {key!r} is given more than once.")
        values[key] = value
    return values


def _pairs(tokens: Iterator[str]) -> Iterator[tuple[str, str]]:
    for token in tokens:
        if not token.startswith("--"):
            # Not echoed: a stray word is most likely the rest of an unquoted value.
            raise ConfigurationError(f"Unexpected argument after the secret name; {_VALUE_SYNTAX}.")
        key, equals, value = token[2:].partition("=")
        if not equals:
            following = next(tokens, None)
            if following is None or following.startswith("--"):
                raise ConfigurationError(f"Key {key!r} has no value; write --{key}=VALUE.")
            value = following
        yield key, value


def _check_name(name: str, command: str) -> None:
    """Refuse a NAME that is really a value pair: Click puts the first extra token there
    when the name is missing or comes after the values, and names get printed."""
    if name.startswith("-") or "=" in name:
        raise ConfigurationError(
            "Give the secret name first, then the values: "
            f"headrace secret {command} NAME --KEY=VALUE. "
            "A name cannot start with '-' or contain '='."
        )
    problem = secret_name_problem(name)
    if problem is not None:
        raise ConfigurationError(f"Secret name {name!r} {problem}.")


# -- lookups and output ------------------------------------------------------------------
def find_secret(client: Client, name_or_id: str) -> SecretResponse:
    """The secret ``name_or_id`` names, without its values.

    Exact names and ids are matched in the value-free listing, so describing, updating or
    deleting decrypts nothing it does not need to (and deleting still works after the key
    is lost). Id prefixes and the not-found error are left to the store, through
    ``get_secret``, whose values are dropped at once.
    """
    key = name_or_id.strip()
    listed = client.list_secrets()
    exact = [s for s in listed if s.id == key] or [s for s in listed if s.name == key]
    if exact:
        return exact[0]
    found = client.get_secret(name_or_id)
    return found.model_copy(update={"values": None})


def _details(secret: SecretResponse) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("secret", secret.name),
        ("id", secret.id),
        ("created", format_time(secret.created)),
        ("keys", ", ".join(secret.keys)),
        # What a run that names this secret finds in os.environ.
        ("environment", ", ".join(key.upper() for key in secret.keys)),
    ]
    for label, text in rows:
        grid.add_row(label, Text(text))
    return grid


def _say(message: str) -> None:
    """A one-line result; plain text because names may contain ``[``."""
    stdout_console().print(message, markup=False, soft_wrap=True)
