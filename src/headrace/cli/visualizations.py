"""Show an artifact version's visualizations on the terminal, each in its own form."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

from rich.markdown import Markdown
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from headrace.enums import VisualizationType

if TYPE_CHECKING:
    from rich.console import Console

    from headrace.models import ArtifactVersionResponse, ArtifactVisualization

_MAX_ROWS = 50


def print_visualizations(console: Console, version: ArtifactVersionResponse) -> None:
    """Print every visualization of ``version`` (or say there is none)."""
    if not version.visualizations:
        console.print(Text("This artifact version has no visualizations."))
        return
    for item in version.visualizations:
        console.print(Rule(f"{item.type.value}: {item.uri}", style="dim"))
        console.print(_renderable(item))


def _renderable(item: ArtifactVisualization) -> Any:
    from headrace.artifacts.loading import read_text

    if item.type is VisualizationType.IMAGE:
        return Text(f"(an image; open {item.uri})")
    try:
        text = read_text(item.uri)
    except OSError as exc:
        return Text(f"(cannot be read: {exc})", style="red")
    if item.type is VisualizationType.MARKDOWN:
        return Markdown(text)
    if item.type is VisualizationType.CSV:
        return _csv_table(text)
    if item.type is VisualizationType.JSON:
        try:
            return Syntax(json.dumps(json.loads(text), indent=2), "json")
        except ValueError:
            return Text(text)
    return _html_text(text)


def _csv_table(text: str) -> Table:
    rows = list(csv.reader(io.StringIO(text)))
    table = Table(show_lines=False)
    if not rows:
        return table
    for column in rows[0]:
        table.add_column(column)
    for row in rows[1 : _MAX_ROWS + 1]:
        table.add_row(*row)
    if len(rows) > _MAX_ROWS + 1:
        table.caption = f"first {_MAX_ROWS} of {len(rows) - 1} rows"
    return table


def _html_text(text: str) -> Text:
    """HTML as readable text: tags dropped, block ends as line breaks."""
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", text)
    body = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table)>", "\n", body)
    body = re.sub(r"<[^>]+>", "", body)
    lines = [line.strip() for line in body.splitlines()]
    return Text("\n".join(line for line in lines if line))
