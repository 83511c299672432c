"""Entry point of the ``headrace`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="headrace: ML pipelines.")


@app.command()
def init(path: Path = typer.Argument(Path("."), help="Directory to make a repository.")) -> None:
    """Create a headrace repository (``.headrace/``) in PATH."""
    from headrace.store.factory import init_repository

    directory, _ = init_repository(path)
    typer.echo(f"Initialized headrace repository in {directory}")


def main() -> None:
    """Run the CLI."""
    sys.exit(app())
