"""``POST /api/v1/runs/{id}/snapshot``: the dashboard's "New snapshot" of a run page.

Makes a named, runnable snapshot that runs what the run ran. The server imports no user
code, so only runs of a runnable snapshot (whose code archive the new snapshot shares)
qualify; a plain run is refused with the CLI command that makes its snapshot from the
project (``headrace pipeline snapshot create --from-run``).
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from headrace.exceptions import SnapshotError
from headrace.models import SnapshotResponse
from headrace.server.auth import require_run_snapshot
from headrace.server.deps import StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name

router = APIRouter(tags=["snapshots"])


class SnapshotFromRun(BaseModel):
    """Name (and description) of the new snapshot."""

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)


@router.post(
    "/runs/{name_or_id}/snapshot",
    response_model=SnapshotResponse,
    status_code=status.HTTP_201_CREATED,
)
def create_snapshot_from_run(
    store: StoreDep, caller: WriteAccess, name_or_id: NameOrId, body: SnapshotFromRun
) -> SnapshotResponse:
    """A new runnable snapshot of what the run ran (runs of runnable snapshots only)."""
    from headrace.execution.snapshot_from_run import create_snapshot_from_run as create

    check_name(body.name.strip(), "snapshot")
    run = store.get_run(name_or_id)
    source = store.get_snapshot(run.snapshot_id) if run.snapshot_id else None
    if source is None or "code" not in source.extra:
        raise SnapshotError(
            f"Run {run.name!r} was not started from a runnable snapshot, so the server "
            "has no archive of its code; make the snapshot from the project with "
            f"'headrace pipeline snapshot create --from-run {run.id} --name {body.name}'."
        )
    require_run_snapshot(caller, source)
    return create(store, run.id, body.name, description=body.description)
