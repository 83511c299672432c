"""``headrace pipeline snapshot create --from-run RUN --name NAME``: the argument checks
and the call; the work is ``Client.create_snapshot_from_run``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headrace.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headrace.client import Client
    from headrace.models import SnapshotResponse


def check_create_arguments(
    source: str | None, name: str, from_run: str | None, config: Path | None
) -> None:
    """Exactly one of SOURCE and --from-run, and a name.

    Raises:
        ConfigurationError: saying what to give instead.
    """
    if not name.strip():
        raise ConfigurationError("Give the snapshot a name with --name NAME.")
    if (source is None) == (from_run is None):
        raise ConfigurationError(
            "Give either the pipeline (MODULE.PIPELINE) or --from-run RUN, not "
            + ("both." if source is not None else "neither.")
        )
    if from_run is not None and config is not None:
        raise ConfigurationError(
            "--config cannot be used with --from-run: the snapshot takes the run's "
            "configuration; change parameters when running it instead (run --config)."
        )


def create_from_run(
    client: Client, run: str, name: str, description: str | None, replace: bool
) -> SnapshotResponse:
    """Make the snapshot (the caller puts the project on the import path first)."""
    return client.create_snapshot_from_run(run, name, description=description, replace=replace)
