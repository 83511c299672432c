"""``PUT /api/v1/pipeline_snapshots/{id}/access``: who may run a snapshot.

Admins only: an editor allowed to run a snapshot must not be able to open it to everyone
(or to lock out the others). Reading the rule needs no more than reading the snapshot:
``allowed_users`` and ``allowed_roles`` are fields of every snapshot answer.
"""

from __future__ import annotations

from fastapi import APIRouter

from headrace.models import SnapshotResponse, SnapshotUpdate
from headrace.server.deps import AdminAccess, StoreDep
from headrace.server.names import NameOrId

router = APIRouter(tags=["snapshots"])


def set_snapshot_access(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, body: SnapshotUpdate
) -> SnapshotResponse:
    """Limit running the snapshot to named accounts or roles (empty lists: every editor
    and admin; a list left out stays as it is)."""
    return store.update_snapshot(name_or_id, body)


for _index, _path in enumerate(("/pipeline_snapshots", "/pipeline-snapshots")):
    router.add_api_route(
        f"{_path}/{{name_or_id}}/access",
        set_snapshot_access,
        methods=["PUT"],
        response_model=SnapshotResponse,
        include_in_schema=_index == 0,
        operation_id="set_snapshot_access" + ("_hyphenated" if _index else ""),
    )
