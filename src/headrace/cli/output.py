"""Where CLI output goes: consoles for stdout and stderr, tables, errors.

Consoles are made per call rather than at import so that they write to whatever
``sys.stdout`` is at that moment (a pipe, a terminal, a test runner's buffer).
"""

from __future__ import annotations

import os
import traceback

from rich import box
from rich.console import Console
from rich.table import Table

from headrace.utils.safe_console import SafeConsole

# Width used when stdout is not a terminal and COLUMNS is unset. Rich would pick 80 and
# wrap or cut long names and URIs, which breaks `headrace ... | grep`.
PIPE_WIDTH = 1000


def _fit(console: Console) -> Console:
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = PIPE_WIDTH
    return console


def stdout_console() -> Console:
    """The console commands print their results to."""
    return _fit(SafeConsole(highlight=False))


def stderr_console() -> Console:
    """The console for errors and notes, so stdout stays clean for pipes."""
    return _fit(SafeConsole(stderr=True, highlight=False))


def new_table(*columns: str, title: str | None = None) -> Table:
    """A borderless table whose cells fold rather than get cut with an ellipsis.

    Ids, names and URIs are copied from tables into other commands, so no character
    of them may be hidden.
    """
    table = Table(
        box=box.SIMPLE_HEAD,
        title=title,
        title_justify="left",
        caption_justify="left",
        pad_edge=False,
        show_edge=False,
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def print_table(table: Table, empty_message: str) -> None:
    """Print ``table``, or ``empty_message`` to stderr when it has no rows."""
    if table.row_count == 0:
        stderr_console().print(empty_message, markup=False)
        return
    stdout_console().print(table)


def print_error(error: BaseException) -> None:
    """Print ``Error: <message>`` in red to stderr, without markup or wrapping.

    The message is printed as plain text because error messages quote user input
    (names, paths) that may contain ``[`` and would otherwise be read as Rich markup.
    """
    message = str(error) or type(error).__name__
    stderr_console().print(f"Error: {message}", style="red", markup=False, soft_wrap=True)


def print_traceback(error: BaseException) -> None:
    """Print the full Python traceback of ``error`` to stderr (``--debug``).

    The plain format is used so it can be pasted into a bug report as it is.
    """
    text = "".join(traceback.format_exception(error))
    stderr_console().print(text, markup=False, highlight=False, soft_wrap=True, end="")
