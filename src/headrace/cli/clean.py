"""``headrace clean``: list (and with ``--yes`` delete) files no record points to.

What counts as a leftover, and what is never touched, is decided in
``headrace.artifacts.leftovers``; this module only shows and confirms.
"""

from __future__ import annotations

from typing import Annotated

import typer

from headrace.cli.formatting import format_size
from headrace.cli.output import new_table, print_table, stdout_console
from headrace.utils.names import printable


def clean(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete the leftovers (else only list them).")
    ] = False,
) -> None:
    """List files in the artifact stores that no record points to: temporary files of
    interrupted writes and output directories whose artifact was never recorded. Runs
    still going are skipped; nothing a record points to is ever deleted."""
    from headrace.artifacts.leftovers import find_leftovers
    from headrace.client import Client

    leftovers = find_leftovers(Client().store)
    console = stdout_console()
    if not leftovers:
        console.print("Nothing to clean: every file in the artifact stores is recorded.")
        return
    table = new_table("kind", "size", "path")
    for leftover in leftovers:
        table.add_row(leftover.kind, format_size(leftover.size), printable(leftover.path))
    print_table(table, "")
    total = format_size(sum(leftover.size for leftover in leftovers))
    if not yes:
        console.print(
            f"{len(leftovers)} leftover(s), {total}. Delete them with: headrace clean --yes",
            markup=False,
        )
        return
    for leftover in leftovers:
        leftover.remove()
    console.print(f"Deleted {len(leftovers)} leftover(s), {total}.", markup=False)
