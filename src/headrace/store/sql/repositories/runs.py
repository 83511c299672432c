"""Pipeline runs: created by launches and triggers, updated as they go."""

from __future__ import annotations

from collections.abc import Callable

from headrace.enums import ExecutionStatus, TaggableResourceType
from headrace.exceptions import EntityExistsError, EntityNotFoundError, StoreConflictError
from headrace.models import (
    Page,
    PipelineRunFilter,
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
)
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, update_sql
from headrace.store.sql.repositories.base import UUID_RE, Repository, now
from headrace.store.sql.repositories.tags import filtered_by_tag
from headrace.store.sql.run_endings import ended_if_orphaned
from headrace.store.sql.tagging import attach_tags, clean_tags

_SELECT = (
    "SELECT pipeline_runs.*, pipelines.name AS pipeline_name FROM pipeline_runs "
    "LEFT OUTER JOIN pipelines ON pipelines.id = pipeline_runs.pipeline_id"
)
_STOP_REQUESTED = "SELECT stop_requested FROM pipeline_runs WHERE id = :_id"


class RunRepository(Repository):
    """The ``pipeline_runs`` table (with the pipeline's name joined in)."""

    table = "pipeline_runs"
    kind = "pipeline run"
    fields = {
        "pipeline_id": "pipeline_runs.pipeline_id",
        "pipeline_name": "pipelines.name",
        "snapshot_id": "pipeline_runs.snapshot_id",
        "stack_id": "pipeline_runs.stack_id",
        "triggered_by_step_run_id": "pipeline_runs.triggered_by_step_run_id",
        "status": "pipeline_runs.status",
    }

    def to_model(self, row: Record) -> PipelineRunResponse:
        """The response of one joined row (a run whose driver is gone is ended first)."""
        row = ended_if_orphaned(row, self.sql.write, _SELECT)
        return PipelineRunResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            pipeline_id=row.pipeline_id,
            pipeline_name=row.pipeline_name,
            snapshot_id=row.snapshot_id,
            stack_id=row.stack_id,
            status=ExecutionStatus(row.status),
            status_reason=row.status_reason,
            config=row.config,
            parameters=row.parameters,
            tags=row.tags,
            start_time=row.start_time,
            end_time=row.end_time,
            output_ids=row.outputs,
            triggered_by_step_run_id=row.triggered_by_step_run_id,
            orchestrator_run_id=row.orchestrator_run_id,
            unlisted=row.unlisted,
            hook_errors=row.hook_errors or [],
            model_version_id=row.model_version_id,
            run_metadata=row.run_metadata or {},
            run_metadata_types=row.run_metadata_types or {},
            driver_host=row.driver_host,
            driver_pid=row.driver_pid,
            heartbeat=row.heartbeat,
            stop_requested=row.stop_requested,
            resumed_from_run_id=row.resumed_from_run_id,
        ).attach(self.context)

    def create(
        self,
        request: PipelineRunRequest,
        *,
        within: Callable[[Connection], None] | None = None,
    ) -> PipelineRunResponse:
        """Record a new run; a taken name raises ``EntityExistsError``.

        ``within`` runs in the same transaction after the insert (the run queue adds the
        run's queue row there, or refuses the run and so leaves nothing behind).
        """
        values = request.model_dump()
        values.update(created=now(), outputs={}, tags=clean_tags(request.tags))
        try:
            with self.sql.write() as conn:
                conn.run(insert_sql("pipeline_runs", tuple(values)), values)
                attach_tags(
                    conn, TaggableResourceType.PIPELINE_RUN, [request.id], values["tags"], now()
                )
                if within is not None:
                    within(conn)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            with self.sql.read() as conn:
                taken = conn.first(
                    "SELECT id FROM pipeline_runs WHERE name = :name", {"name": request.name}
                )
            if taken is not None:
                raise EntityExistsError(
                    f"A pipeline run named {request.name!r} already exists (id {taken.id}); "
                    "run names must be unique: use a placeholder such as {date}_{time} "
                    "or choose another name."
                ) from exc
            raise
        return self.get(request.id)

    def update(self, run_id: str, update_model: PipelineRunUpdate) -> PipelineRunResponse:
        """Change a run's status, times or outputs."""
        values = update_model.model_dump(exclude_unset=True)
        if update_model.hook_errors is not None:
            values["hook_errors"] = [e.model_dump() for e in update_model.hook_errors]
        if values:
            with self.sql.write() as conn:
                changed = conn.run(
                    update_sql("pipeline_runs", tuple(values)), {**values, "_id": run_id}
                )
                if changed == 0:
                    raise EntityNotFoundError(f"No pipeline run has the id {run_id!r}.")
        return self.get(run_id)

    def get(self, name_or_id: str) -> PipelineRunResponse:
        """A run by name, id or id prefix (one query for a full id)."""
        with self.sql.read() as conn:
            if UUID_RE.match(str(name_or_id)):
                full = conn.first(f"{_SELECT} WHERE pipeline_runs.id = :_id", {"_id": name_or_id})
                if full is not None:
                    return self.to_model(full)
            row = self.find(conn, name_or_id)
            full = conn.one(f"{_SELECT} WHERE pipeline_runs.id = :_id", {"_id": row.id})
            return self.to_model(full)

    def stop_request(self, run_id: str) -> str | None:
        """The run's ``stop_requested`` alone, read without committing deferred step
        records first: they never change it, and the driver polls it every second."""
        with self.sql.read(flush=False) as conn:
            row = conn.first(_STOP_REQUESTED, {"_id": run_id})
        if row is None:
            raise EntityNotFoundError(f"No pipeline run has the id {run_id!r}.")
        return row.stop_requested

    def list(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        """Runs matching the filter."""
        query = Query(_SELECT, "pipeline_runs")
        if not filter_model.include_unlisted:
            query.equal("pipeline_runs.unlisted", False)
        if filter_model.unlisted is not None:
            query.equal("pipeline_runs.unlisted", filter_model.unlisted)
        if filter_model.triggered_by_run_id:  # started by any step of that run
            query.add(
                "pipeline_runs.triggered_by_step_run_id IN (SELECT id FROM step_runs "
                f"WHERE pipeline_run_id = {query.param(filter_model.triggered_by_run_id)})"
            )
        filtered_by_tag(query, filter_model, "pipeline_runs.id", TaggableResourceType.PIPELINE_RUN)
        if filter_model.model_version_id:
            query.add(
                "pipeline_runs.id IN (SELECT pipeline_run_id FROM model_version_runs "
                f"WHERE model_version_id = {query.param(filter_model.model_version_id)})"
            )
        with self.sql.read() as conn:
            return self.page(conn, query, filter_model, self.to_model)
