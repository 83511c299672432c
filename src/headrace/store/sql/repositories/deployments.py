"""Deployments: one row per served snapshot, its status, URL and the deployer's handle."""

from __future__ import annotations

from typing import Any

from headrace.exceptions import EntityExistsError, StoreConflictError
from headrace.models import (
    DeploymentFilter,
    DeploymentRequest,
    DeploymentResponse,
    DeploymentUpdate,
    Page,
)
from headrace.store.sql.database import Record
from headrace.store.sql.query import Query, insert_sql, select_all, update_sql
from headrace.store.sql.repositories.base import Repository, new_id, now


class DeploymentRepository(Repository):
    """The ``deployments`` table."""

    table = "deployments"
    kind = "deployment"
    fields = {"status": "deployments.status", "snapshot_id": "deployments.snapshot_id"}

    def to_model(self, row: Record) -> DeploymentResponse:
        """The response of one row."""
        values: dict[str, Any] = row.as_dict()
        values["handle"] = values.pop("service_handle")
        return DeploymentResponse.model_validate(values).attach(self.context)

    def create(self, request: DeploymentRequest) -> DeploymentResponse:
        """Record a new deployment; its name must be unique."""
        at = now()
        row = {**request.model_dump(mode="json"), "id": new_id(), "created": at, "updated": at}
        row["service_handle"] = row.pop("handle")
        try:
            with self.sql.write() as conn:
                conn.run(insert_sql(self.table, tuple(row)), row)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A deployment named {request.name!r} exists already; delete it first "
                f"(headrace deployment delete {request.name}) or choose another name."
            ) from exc
        return self.get(row["id"])

    def get(self, name_or_id: str) -> DeploymentResponse:
        """A deployment by name, id or unique id prefix."""
        with self.sql.read() as conn:
            return self.to_model(self.find(conn, name_or_id))

    def list(self, filter_model: DeploymentFilter) -> Page[DeploymentResponse]:
        """A page of deployments."""
        with self.sql.read() as conn:
            query = Query(select_all(self.table), self.table)
            return self.page(conn, query, filter_model, self.to_model)

    def update(self, name_or_id: str, update: DeploymentUpdate) -> DeploymentResponse:
        """Apply the fields ``update`` sets."""
        changes = update.model_dump(mode="json", exclude_unset=True)
        if "handle" in changes:
            changes["service_handle"] = changes.pop("handle")
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            values = {**changes, "updated": now(), "_id": row.id}
            conn.run(update_sql(self.table, tuple(k for k in values if k != "_id")), values)
        return self.get(row.id)

    def delete(self, name_or_id: str) -> None:
        """Remove a deployment's record."""
        with self.sql.write() as conn:
            row = self.find(conn, name_or_id)
            conn.run("DELETE FROM deployments WHERE id = :_id", {"_id": row.id})
