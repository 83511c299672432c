"""The CLI reference page, generated from the ``headrace`` Typer app.

Walks the Click command tree that Typer builds from ``headrace.cli.main.app`` and writes
one section per command: its usage line, its help text and a table of its arguments and
options. Nothing is hand-written, so a new command or option appears by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Typer carries its own copy of Click, so the tree is walked by duck typing (a group is
# what has ``list_commands``; an option is a parameter whose ``param_type_name`` says so)
# and contexts are made with the command's own ``context_class``.
Command = Any
Context = Any
Parameter = Any


def _root() -> Command:
    import typer.main

    from headrace.cli.main import app

    return typer.main.get_command(app)


def _is_group(command: Command) -> bool:
    return hasattr(command, "list_commands")


def _subcommands(command: Command, ctx: Context) -> list[tuple[str, Command]]:
    found = []
    for name in sorted(command.list_commands(ctx)):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            found.append((name, sub))
    return found


def _walk(command: Command, ctx: Context) -> Iterator[tuple[Command, Context]]:
    yield command, ctx
    if _is_group(command):
        for name, sub in _subcommands(command, ctx):
            yield from _walk(sub, sub.context_class(sub, info_name=name, parent=ctx))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _param_row(param: Parameter, ctx: Context) -> str:
    record = param.get_help_record(ctx)
    if record is None:
        return ""
    names, help_text = record
    if param.param_type_name == "argument":
        names = (param.name or names).upper()
    return f"| `{_cell(names)}` | {_cell(help_text)} |"


def _clean_help(text: str) -> str:
    # Click's \b marker (keep this paragraph as it is) means nothing in Markdown.
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b").strip()


def render() -> str:
    """The Markdown of every command, in tree order."""
    root = _root()
    root_ctx = root.context_class(root, info_name="headrace")
    parts: list[str] = []
    for command, ctx in _walk(root, root_ctx):
        path = ctx.command_path
        level = "##" if ctx.parent is None or ctx.parent.parent is None else "###"
        parts.append(f"{level} `{path}`\n")
        parts.append(f"```text\n{command.get_usage(ctx)}\n```\n")
        if command.help:
            parts.append(_clean_help(command.help) + "\n")
        params = [p for p in command.get_params(ctx) if p.name != "help"]
        if params:
            parts.append("| argument / option | description |")
            parts.append("|---|---|")
            parts.extend(row for p in params if (row := _param_row(p, ctx)))
            parts.append("")
        if _is_group(command):
            subs = [name for name, _ in _subcommands(command, ctx)]
            parts.append("Commands: " + ", ".join(f"`{path} {name}`" for name in subs) + "\n")
    return "\n".join(parts)
