"""Snapshots: named (runnable) and unnamed (one per distinct plain run) pipeline specs."""

from __future__ import annotations

from typing import Any

from headrace.exceptions import EntityExistsError, StoreError
from headrace.models import (
    Page,
    SnapshotFilter,
    SnapshotRequest,
    SnapshotResponse,
    SnapshotUpdate,
)
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, update_sql
from headrace.store.sql.repositories.base import Repository, now

_SELECT = (
    "SELECT snapshots.*, pipelines.name AS pipeline_name FROM snapshots "
    "JOIN pipelines ON pipelines.id = snapshots.pipeline_id"
)


class SnapshotRepository(Repository):
    """The ``snapshots`` table (with the pipeline's name joined in)."""

    table = "snapshots"
    kind = "snapshot"
    fields = {"pipeline_id": "snapshots.pipeline_id", "stack_id": "snapshots.stack_id"}

    def to_model(self, row: Record) -> SnapshotResponse:
        """The response of one joined row."""
        return SnapshotResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            description=row.description,
            pipeline_id=row.pipeline_id,
            pipeline_name=row.pipeline_name,
            stack_id=row.stack_id,
            spec=row.spec,
            spec_hash=row.spec_hash,
            runnable=row.runnable,
            extra=row.extra,
            allowed_users=row.allowed_users or [],
            allowed_roles=row.allowed_roles or [],
        ).attach(self.context)

    @staticmethod
    def _unnamed(request: SnapshotRequest, select: str) -> tuple[str, dict[str, Any]]:
        """The query of the unnamed snapshot of the same spec, pipeline and stack."""
        return (
            f"{select} WHERE snapshots.pipeline_id = :pipeline AND snapshots.spec_hash = :hash "
            "AND snapshots.name IS NULL AND snapshots.stack_id = :stack LIMIT 1",
            {"pipeline": request.pipeline_id, "hash": request.spec_hash, "stack": request.stack_id},
        )

    def create(self, request: SnapshotRequest, *, replace: bool = False) -> SnapshotResponse:
        """Store a snapshot (see ``Store.create_snapshot``)."""
        if request.name is None:
            with self.sql.read() as conn:
                row = conn.first(*self._unnamed(request, _SELECT))
            if row is not None:
                return self.to_model(row)
        values = request.model_dump(mode="json")
        values["created"] = now()
        with self.sql.write() as conn:
            taken = None
            if request.name is not None:
                taken = conn.first(
                    "SELECT id, extra FROM snapshots WHERE name = :name", {"name": request.name}
                )
            if taken is not None:
                if not replace:
                    raise EntityExistsError(
                        f"A snapshot named {request.name!r} already exists (id {taken.id}); "
                        "choose another name, or replace it explicitly (replace=True, "
                        "--replace)."
                    )
                values.update(_kept_access(conn, taken.id, values))
                # The old one keeps a note of what replaced it, so triggering it by id
                # can say so (execution/snapshot_runs.check_runnable).
                replaced_by = {
                    "id": request.id,
                    "name": request.name,
                    "at": values["created"].isoformat(),
                }
                conn.run(
                    update_sql("snapshots", ("name", "runnable", "extra")),
                    {
                        "_id": taken.id,
                        "name": None,
                        "runnable": False,
                        "extra": {**(taken.extra or {}), "replaced_by": replaced_by},
                    },
                )
            conn.run(insert_sql("snapshots", tuple(values)), values)
        return self.get(request.id)

    def ensure(self, request: SnapshotRequest) -> str:
        """The id of the unnamed snapshot equal to ``request``, stored if new."""
        if request.name is not None:
            raise StoreError("ensure_snapshot is for unnamed snapshots; use create_snapshot.")
        with self.sql.read() as conn:
            found = conn.scalar(*self._unnamed(request, "SELECT id FROM snapshots"))
        if found is not None:
            return str(found)
        values = request.model_dump(mode="json")
        values["created"] = now()
        with self.sql.write() as conn:
            conn.run(insert_sql("snapshots", tuple(values)), values)
        return request.id

    def delete(self, name_or_id: str) -> None:
        """Remove a snapshot; its runs keep their records."""
        with self.sql.read() as conn:
            row = self.find(conn, name_or_id)
        with self.sql.write() as conn:
            conn.run(
                "UPDATE pipeline_runs SET snapshot_id = NULL WHERE snapshot_id = :_id",
                {"_id": row.id},
            )
            conn.run("DELETE FROM snapshots WHERE id = :_id", {"_id": row.id})

    def get(self, name_or_id: str) -> SnapshotResponse:
        """A snapshot by name or id."""
        with self.sql.read() as conn:
            row = self.find(conn, name_or_id)
            return self.to_model(conn.one(f"{_SELECT} WHERE snapshots.id = :_id", {"_id": row.id}))

    def update(self, name_or_id: str, update: SnapshotUpdate) -> SnapshotResponse:
        """Change who may run a snapshot (named accounts must exist)."""
        values: dict[str, Any] = {}
        if update.allowed_roles is not None:
            values["allowed_roles"] = sorted({role.value for role in update.allowed_roles})
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            if update.allowed_users is not None:
                from headrace.store.sql.repositories.accounts import existing_account_names

                values["allowed_users"] = existing_account_names(conn, update.allowed_users)
            if values:
                conn.run(update_sql(self.table, tuple(values)), {**values, "_id": row.id})
        return self.get(row.id)

    def list(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        """Snapshots matching the filter."""
        query = Query(_SELECT, "snapshots")
        if filter_model.named_only:
            query.add("snapshots.name IS NOT NULL")
        with self.sql.read() as conn:
            return self.page(conn, query, filter_model, self.to_model)


def _kept_access(conn: Connection, old_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Who may run a snapshot that replaces ``old_id`` under the same name: the old
    snapshot's rule, unless the new one brings its own (replacing a restricted snapshot
    must not open it to everyone)."""
    if values.get("allowed_users") or values.get("allowed_roles"):
        return {}
    old = conn.one(
        "SELECT allowed_users, allowed_roles FROM snapshots WHERE id = :id", {"id": old_id}
    )
    return {"allowed_users": old.allowed_users or [], "allowed_roles": old.allowed_roles or []}
