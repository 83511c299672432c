"""``SqlStore``: the Store interface over SQLAlchemy Core (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from headrace.enums import ExecutionStatus, MetadataResourceType, TaggableResourceType
from headrace.exceptions import EntityExistsError, EntityNotFoundError, StoreError
from headrace.metadata.metadata_types import encode_metadata
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionList,
    ArtifactVersionRequest,
    ArtifactVersionResponse,
    Page,
    PipelineFilter,
    PipelineResponse,
    PipelineRunFilter,
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    ResponseContext,
    SecretResponse,
    SnapshotFilter,
    SnapshotRequest,
    SnapshotResponse,
    StackResponse,
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
)
from headrace.models.filters import BaseFilter
from headrace.models.step_run import CachedOutput, CacheHit, StepRunError
from headrace.store.base import Store
from headrace.store.sql import schema as t
from headrace.store.sql.engine import create_store_engine, is_sqlite
from headrace.store.sql.migrate import ensure_schema
from headrace.store.sql.model_registry import link as link_model_version
from headrace.store.sql.registry_methods import RegistryMethods, filtered_by_tag
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.sql.tagging import (
    attach_tags,
    clean_tags,
    insert_ignoring_duplicates,
    tagged_with,
    tags_of,
)

M = TypeVar("M")

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIX_RE = re.compile(r"^[0-9a-f-]{4,36}$")
DEFAULT_STACK_NAME = "default"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Statements on the per-step path, built once: SQLAlchemy then reuses their compiled
# form instead of recomputing a cache key for a fresh statement object on every call.
_INSERT_STEP_RUN = insert(t.step_runs)
_INSERT_STEP_INPUT = insert(t.step_run_inputs)
_INSERT_STEP_OUTPUT = insert(t.step_run_outputs)
_UPDATE_STEP_RUN = update(t.step_runs).where(t.step_runs.c.id == bindparam("_step_run_id"))
_INSERT_ARTIFACT = insert(t.artifacts)
_INSERT_ARTIFACT_VERSION = insert(t.artifact_versions)
_SELECT_ARTIFACT_ID = select(t.artifacts.c.id).where(t.artifacts.c.name == bindparam("_name"))
_CACHED_STEP_RUN = (
    select(t.step_runs)
    .where(
        t.step_runs.c.cache_key == bindparam("_key"),
        t.step_runs.c.status == bindparam("_status"),
        t.step_runs.c.created > bindparam("_after"),
    )
    .order_by(t.step_runs.c.created.desc())
    .limit(1)
)


_CACHE_HIT = (
    select(
        t.step_runs.c.id.label("step_run_id"),
        t.step_run_outputs.c.name,
        t.artifact_versions.c.id,
        t.artifact_versions.c.uri,
        t.artifact_versions.c.materializer,
        t.artifact_versions.c.data_type,
        t.artifact_versions.c.content_hash,
        t.artifact_versions.c.python_version,
    )
    .select_from(t.step_runs)
    .outerjoin(t.step_run_outputs, t.step_run_outputs.c.step_run_id == t.step_runs.c.id)
    .outerjoin(
        t.artifact_versions,
        t.artifact_versions.c.id == t.step_run_outputs.c.artifact_version_id,
    )
    .where(
        t.step_runs.c.id == _CACHED_STEP_RUN.with_only_columns(t.step_runs.c.id).scalar_subquery()
    )
    .order_by(t.step_run_outputs.c.name, t.step_run_outputs.c.position)
)


def _link_query(table: Table) -> Select[Any]:
    return (
        select(
            table.c.step_run_id,
            table.c.name,
            *t.artifact_versions.c,
            t.artifacts.c.name.label("artifact_name"),
        )
        .join(t.artifact_versions, t.artifact_versions.c.id == table.c.artifact_version_id)
        .join(t.artifacts, t.artifacts.c.id == t.artifact_versions.c.artifact_id)
        .where(table.c.step_run_id.in_(bindparam("ids", expanding=True)))
        .order_by(table.c.step_run_id, table.c.name, table.c.position)
    )


_LINK_QUERIES = {
    table.name: _link_query(table) for table in (t.step_run_inputs, t.step_run_outputs)
}

_NEXT_VERSION = (
    update(t.artifacts)
    .where(t.artifacts.c.id == bindparam("_artifact_id"))
    .values(version_count=t.artifacts.c.version_count + 1)
    .returning(t.artifacts.c.version_count)
)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class SqlStore(RegistryMethods, Store):
    """Metadata in a SQL database through SQLAlchemy Core.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``).
        default_artifact_path: root of the default stack's artifact store, used when the
            default stack is created.
    """

    def __init__(self, url: str, *, default_artifact_path: str | None = None) -> None:
        from pathlib import Path

        from headrace.store.sql.engine import sqlite_path
        from headrace.store.sql.secrets import SecretCipher

        self.url = url
        self._sqlite = is_sqlite(url)
        self._engine = create_store_engine(url)
        ensure_schema(self._engine, url)
        self._context = ResponseContext(self)
        self._default_artifact_path = default_artifact_path
        self._default_stack: StackResponse | None = None
        self._artifact_ids: dict[str, str] = {}
        database = sqlite_path(url) if self._sqlite else None
        key_directory = (
            Path(database).resolve().parent
            if database
            else Path(default_artifact_path or ".").resolve().parent
        )
        self._cipher = SecretCipher(key_directory)

    # -- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; SQLite takes the write lock up front."""
        with self._engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Dispose of the connection pool."""
        self._engine.dispose()

    def after_fork(self) -> None:
        """Start a fresh pool without touching the parent's connections."""
        self._engine.dispose(close=False)

    def _find(
        self, conn: Connection, table: Table, name_or_id: str, kind: str, *, by_name: bool = True
    ) -> Row[Any]:
        """Find one row by exact id, exact name, or unique id prefix."""
        key = str(name_or_id).strip()
        if _UUID_RE.match(key):
            row = conn.execute(select(table).where(table.c.id == key)).first()
            if row is not None:
                return row
        if by_name and "name" in table.c:
            row = conn.execute(select(table).where(table.c.name == key)).first()
            if row is not None:
                return row
        if _PREFIX_RE.match(key) and not _UUID_RE.match(key):
            rows = conn.execute(select(table).where(table.c.id.like(f"{key}%")).limit(3)).all()
            if len(rows) == 1:
                return rows[0]
            if len(rows) > 1:
                raise EntityNotFoundError(
                    f"The id prefix {key!r} matches more than one {kind}; give more characters."
                )
        raise EntityNotFoundError(f"No {kind} has the name or id {key!r}.")

    def _page(
        self,
        conn: Connection,
        query: Select[Any],
        filter_model: BaseFilter,
        table: Table,
        to_model: Callable[[Row[Any]], M],
    ) -> Page[M]:
        if filter_model.name is not None and "name" in table.c:
            query = query.where(table.c.name == filter_model.name)
        if filter_model.created_after is not None:
            query = query.where(table.c.created > filter_model.created_after)
        if filter_model.created_before is not None:
            query = query.where(table.c.created < filter_model.created_before)
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        direction, _, field = filter_model.sort_by.partition(":")
        if not field:
            direction, field = "desc", direction
        if field not in table.c:
            raise StoreError(
                f"Cannot sort by {field!r}; sortable fields: {', '.join(table.c.keys())}."
            )
        column = table.c[field]
        query = query.order_by(column.desc() if direction == "desc" else column.asc())
        size = filter_model.size
        query = query.offset((filter_model.page - 1) * size).limit(size)
        items = [to_model(row) for row in conn.execute(query)]
        return Page[Any](
            index=filter_model.page,
            max_size=size,
            total_pages=max(1, -(-total // size)),
            total=total,
            items=items,
        )

    # -- stacks -------------------------------------------------------------------------
    def _stack_model(self, row: Row[Any]) -> StackResponse:
        return StackResponse(
            id=row.id, created=row.created, name=row.name, components=row.components
        ).attach(self._context)

    def get_default_stack(self) -> StackResponse:
        if self._default_stack is not None:
            return self._default_stack
        with self._read() as conn:
            row = conn.execute(
                select(t.stacks).where(t.stacks.c.name == DEFAULT_STACK_NAME)
            ).first()
        if row is None:
            row = self._create_default_stack()
        self._default_stack = self._stack_model(row)
        return self._default_stack

    def _create_default_stack(self) -> Row[Any]:
        if not self._default_artifact_path:
            raise StoreError(
                "The store has no default stack and no artifact path to create one with."
            )
        components = {
            "orchestrator": {"flavor": "local"},
            "artifact_store": {"flavor": "local", "path": self._default_artifact_path},
        }
        try:
            with self._write() as conn:
                conn.execute(
                    insert(t.stacks),
                    {
                        "id": _new_id(),
                        "name": DEFAULT_STACK_NAME,
                        "created": _now(),
                        "components": components,
                    },
                )
        except IntegrityError:
            pass  # another process created it first
        with self._read() as conn:
            return conn.execute(select(t.stacks).where(t.stacks.c.name == DEFAULT_STACK_NAME)).one()

    def get_stack(self, name_or_id: str) -> StackResponse:
        with self._read() as conn:
            return self._stack_model(self._find(conn, t.stacks, name_or_id, "stack"))

    # -- pipelines ----------------------------------------------------------------------
    def _pipeline_model(self, row: Row[Any], tags: list[str] | None = None) -> PipelineResponse:
        return PipelineResponse(
            id=row.id, created=row.created, name=row.name, docstring=row.docstring, tags=tags or []
        ).attach(self._context)

    def _pipeline_tags(self, conn: Connection, row: Row[Any]) -> PipelineResponse:
        tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id])
        return self._pipeline_model(row, tags.get(row.id))

    def get_or_create_pipeline(self, name: str, docstring: str | None = None) -> PipelineResponse:
        query = select(t.pipelines).where(t.pipelines.c.name == name)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            try:
                with self._write() as conn:
                    conn.execute(
                        insert(t.pipelines),
                        {"id": _new_id(), "name": name, "created": _now(), "docstring": docstring},
                    )
            except IntegrityError:
                pass  # created concurrently
            with self._read() as conn:
                row = conn.execute(query).one()
        return self._pipeline_model(row)  # a new pipeline has no tags; launches skip the read

    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        with self._read() as conn:
            return self._pipeline_tags(conn, self._find(conn, t.pipelines, name_or_id, "pipeline"))

    def list_pipelines(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        query = filtered_by_tag(
            select(t.pipelines), filter_model, t.pipelines.c.id, TaggableResourceType.PIPELINE
        )
        with self._read() as conn:
            page = self._page(conn, query, filter_model, t.pipelines, lambda row: row)
            tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id for row in page.items])
        items = [self._pipeline_model(row, tags.get(row.id)) for row in page.items]
        return cast("Page[PipelineResponse]", page.model_copy(update={"items": items}))

    # -- snapshots ----------------------------------------------------------------------
    def _snapshot_query(self) -> Select[Any]:
        return select(t.snapshots, t.pipelines.c.name.label("pipeline_name")).join(
            t.pipelines, t.pipelines.c.id == t.snapshots.c.pipeline_id
        )

    def _snapshot_model(self, row: Row[Any]) -> SnapshotResponse:
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
        ).attach(self._context)

    def create_snapshot(
        self, request: SnapshotRequest, *, replace: bool = False
    ) -> SnapshotResponse:
        if request.name is None:
            query = self._snapshot_query().where(
                and_(
                    t.snapshots.c.pipeline_id == request.pipeline_id,
                    t.snapshots.c.spec_hash == request.spec_hash,
                    t.snapshots.c.name.is_(None),
                    t.snapshots.c.stack_id == request.stack_id,
                )
            )
            with self._read() as conn:
                row = conn.execute(query.limit(1)).first()
            if row is not None:
                return self._snapshot_model(row)
        values = request.model_dump(mode="json")
        values["created"] = _now()
        with self._write() as conn:
            taken = None
            if request.name is not None:
                taken = conn.execute(
                    select(t.snapshots.c.id).where(t.snapshots.c.name == request.name)
                ).first()
            if taken is not None:
                if not replace:
                    raise EntityExistsError(
                        f"A snapshot named {request.name!r} already exists (id {taken.id}); "
                        "choose another name, or replace it explicitly (replace=True, "
                        "--replace)."
                    )
                conn.execute(
                    update(t.snapshots)
                    .where(t.snapshots.c.id == taken.id)
                    .values(name=None, runnable=False)
                )
            conn.execute(insert(t.snapshots), values)
        return self.get_snapshot(request.id)

    def ensure_snapshot(self, request: SnapshotRequest) -> str:
        if request.name is not None:
            raise StoreError("ensure_snapshot is for unnamed snapshots; use create_snapshot.")
        c = t.snapshots.c
        query = (
            select(c.id)
            .where(
                c.pipeline_id == request.pipeline_id,
                c.spec_hash == request.spec_hash,
                c.name.is_(None),
                c.stack_id == request.stack_id,
            )
            .limit(1)
        )
        with self._read() as conn:
            found = conn.execute(query).scalar()
        if found is not None:
            return str(found)
        values = request.model_dump(mode="json")
        values["created"] = _now()
        with self._write() as conn:
            conn.execute(insert(t.snapshots), values)
        return request.id

    def delete_snapshot(self, name_or_id: str) -> None:
        with self._read() as conn:
            row = self._find(conn, t.snapshots, name_or_id, "snapshot")
        with self._write() as conn:
            conn.execute(
                update(t.pipeline_runs)
                .where(t.pipeline_runs.c.snapshot_id == row.id)
                .values(snapshot_id=None)
            )
            conn.execute(t.snapshots.delete().where(t.snapshots.c.id == row.id))

    def get_snapshot(self, name_or_id: str) -> SnapshotResponse:
        with self._read() as conn:
            row = self._find(conn, t.snapshots, name_or_id, "snapshot")
            full = conn.execute(self._snapshot_query().where(t.snapshots.c.id == row.id)).one()
            return self._snapshot_model(full)

    def list_snapshots(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        query = self._snapshot_query()
        if filter_model.pipeline_id:
            query = query.where(t.snapshots.c.pipeline_id == filter_model.pipeline_id)
        if filter_model.named_only:
            query = query.where(t.snapshots.c.name.is_not(None))
        with self._read() as conn:
            return self._page(conn, query, filter_model, t.snapshots, self._snapshot_model)

    # -- runs ---------------------------------------------------------------------------
    def _run_query(self) -> Select[Any]:
        return select(t.pipeline_runs, t.pipelines.c.name.label("pipeline_name")).outerjoin(
            t.pipelines, t.pipelines.c.id == t.pipeline_runs.c.pipeline_id
        )

    def _run_model(self, row: Row[Any]) -> PipelineRunResponse:
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
        ).attach(self._context)

    def create_run(self, request: PipelineRunRequest) -> PipelineRunResponse:
        values = request.model_dump()
        values.update(created=_now(), outputs={}, tags=clean_tags(request.tags))
        try:
            with self._write() as conn:
                conn.execute(insert(t.pipeline_runs), values)
                attach_tags(
                    conn, TaggableResourceType.PIPELINE_RUN, [request.id], values["tags"], _now()
                )
        except IntegrityError as exc:
            with self._read() as conn:
                taken = conn.execute(
                    select(t.pipeline_runs.c.id).where(t.pipeline_runs.c.name == request.name)
                ).first()
            if taken is not None:
                raise EntityExistsError(
                    f"A pipeline run named {request.name!r} already exists (id {taken.id}); "
                    "run names must be unique: use a placeholder such as {date}_{time} "
                    "or choose another name."
                ) from exc
            raise
        return self.get_run(request.id)

    def update_run(self, run_id: str, update_model: PipelineRunUpdate) -> PipelineRunResponse:
        values = update_model.model_dump(exclude_unset=True)
        if update_model.hook_errors is not None:
            values["hook_errors"] = [e.model_dump() for e in update_model.hook_errors]
        if values:
            with self._write() as conn:
                result = conn.execute(
                    update(t.pipeline_runs).where(t.pipeline_runs.c.id == run_id), values
                )
                if result.rowcount == 0:
                    raise EntityNotFoundError(f"No pipeline run has the id {run_id!r}.")
        return self.get_run(run_id)

    def get_run(self, name_or_id: str) -> PipelineRunResponse:
        with self._read() as conn:
            row = self._find(conn, t.pipeline_runs, name_or_id, "pipeline run")
            full = conn.execute(self._run_query().where(t.pipeline_runs.c.id == row.id)).one()
            return self._run_model(full)

    def list_runs(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        query = self._run_query()
        c = t.pipeline_runs.c
        if filter_model.pipeline_id:
            query = query.where(c.pipeline_id == filter_model.pipeline_id)
        if filter_model.pipeline_name:
            query = query.where(t.pipelines.c.name == filter_model.pipeline_name)
        if filter_model.snapshot_id:
            query = query.where(c.snapshot_id == filter_model.snapshot_id)
        if filter_model.triggered_by_step_run_id:
            query = query.where(c.triggered_by_step_run_id == filter_model.triggered_by_step_run_id)
        if filter_model.status:
            query = query.where(c.status == filter_model.status.value)
        if not filter_model.include_unlisted:
            query = query.where(c.unlisted.is_(False))
        query = filtered_by_tag(query, filter_model, c.id, TaggableResourceType.PIPELINE_RUN)
        if filter_model.model_version_id:
            links = t.model_version_runs.c
            linked = select(links.pipeline_run_id).where(
                links.model_version_id == filter_model.model_version_id
            )
            query = query.where(c.id.in_(linked.scalar_subquery()))
        with self._read() as conn:
            return self._page(conn, query, filter_model, t.pipeline_runs, self._run_model)

    # -- step runs ----------------------------------------------------------------------
    def create_step_run(self, request: StepRunRequest) -> str:
        self.create_step_runs([request])
        return request.id

    def create_step_runs(self, requests: Sequence[StepRunRequest]) -> None:
        if not requests:
            return
        try:
            with self._write() as conn:
                self._insert_step_runs(conn, requests)
        except IntegrityError as exc:
            names = ", ".join(repr(r.name) for r in requests)
            raise EntityExistsError(
                f"Step(s) {names} already have a step run in run {requests[0].pipeline_run_id}."
            ) from exc

    @staticmethod
    def _insert_step_runs(
        conn: Connection,
        requests: Sequence[StepRunRequest],
        final_values: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Insert step runs; ``final_values`` (by id) lays a completion onto a row so a
        step that starts and ends within one write is one INSERT, not INSERT + UPDATE."""
        now = _now()
        rows: list[dict[str, Any]] = []
        links_in: list[dict[str, Any]] = []
        links_out: list[dict[str, Any]] = []
        for request in requests:
            values = request.model_dump(exclude={"inputs", "outputs"})
            values.update(created=request.start_time or now, attempts=0)
            if request.error is not None:
                values["error"] = request.error.model_dump()
            if final_values and request.id in final_values:
                values.update(final_values[request.id])
            rows.append(values)
            for links, source in ((links_in, request.inputs), (links_out, request.outputs)):
                links.extend(
                    {
                        "step_run_id": request.id,
                        "name": name,
                        "position": i,
                        "artifact_version_id": av,
                    }
                    for name, ids in source.items()
                    for i, av in enumerate(ids)
                )
        keys = set().union(*rows)
        for row in rows:  # one executemany needs the same columns in every row
            for key in keys - row.keys():
                row[key] = None
        conn.execute(_INSERT_STEP_RUN, rows)
        if links_in:
            conn.execute(_INSERT_STEP_INPUT, links_in)
        if links_out:
            conn.execute(_INSERT_STEP_OUTPUT, links_out)
        for request in requests:
            if request.model_version_id is not None and request.outputs:
                # A cache hit's outputs belong to this run's model version too.
                ids = [av for versions in request.outputs.values() for av in versions]
                link_model_version(conn, request.model_version_id, (), ids, now)

    def update_step_run(self, step_run_id: str, update_model: StepRunUpdate) -> None:
        values = _step_update_values(update_model)
        with self._write() as conn:
            if values:
                values["_step_run_id"] = step_run_id
                conn.execute(_UPDATE_STEP_RUN, values)
            if update_model.run_metadata:
                merge_metadata(
                    conn, MetadataResourceType.STEP_RUN, step_run_id, update_model.run_metadata
                )

    def complete_step_run(
        self,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        values = _step_update_values(update_model)
        created_ids: dict[str, list[str]] = {}
        new_artifacts: dict[str, str] = {}
        now = _now()
        own_row_pending = any(request.id == step_run_id for request in create)
        with self._write() as conn:
            if create:
                final = {step_run_id: values} if own_row_pending else None
                self._insert_step_runs(conn, create, final)
            for output_name, requests in outputs.items():
                ids = created_ids.setdefault(output_name, [])
                for position, req in enumerate(requests):
                    self._insert_version(conn, req, step_run_id, new_artifacts, now)
                    conn.execute(
                        _INSERT_STEP_OUTPUT,
                        {
                            "step_run_id": step_run_id,
                            "name": output_name,
                            "position": position,
                            "artifact_version_id": req.id,
                        },
                    )
                    ids.append(req.id)
            if not own_row_pending:
                values["_step_run_id"] = step_run_id
                conn.execute(_UPDATE_STEP_RUN, values)
            if update_model.run_metadata:
                merge_metadata(
                    conn, MetadataResourceType.STEP_RUN, step_run_id, update_model.run_metadata
                )
            if model_version_id is not None:
                produced = [av for ids in created_ids.values() for av in ids]
                link_model_version(conn, model_version_id, (), produced, now)
        self._artifact_ids.update(new_artifacts)  # only after the commit succeeded
        return created_ids

    def create_artifact_version(self, request: ArtifactVersionRequest) -> ArtifactVersionResponse:
        new_artifacts: dict[str, str] = {}
        try:
            with self._write() as conn:
                self._insert_version(conn, request, None, new_artifacts, _now())
        except IntegrityError as exc:
            raise EntityExistsError(
                f"Artifact {request.artifact_name!r} already has a version {request.version!r}; "
                "versions are immutable, pick a new version name."
            ) from exc
        self._artifact_ids.update(new_artifacts)
        return self.get_artifact_version(request.id)

    def _insert_version(
        self,
        conn: Connection,
        req: ArtifactVersionRequest,
        producer_step_run_id: str | None,
        new_artifacts: dict[str, str],
        now: datetime,
    ) -> None:
        artifact_id = self._artifact_id(conn, req, new_artifacts, now)
        version, number = self._next_version(conn, artifact_id, req.version)
        metadata, metadata_types = encode_metadata(req.metadata)
        tags = clean_tags(req.tags) if req.tags else []
        conn.execute(
            _INSERT_ARTIFACT_VERSION,
            {
                "id": req.id,
                "artifact_id": artifact_id,
                "version": version,
                "version_number": number,
                "uri": req.uri,
                "materializer": req.materializer,
                "data_type": req.data_type,
                "content_hash": req.content_hash,
                "size": req.size,
                "python_version": req.python_version,
                "type": req.type.value,
                "artifact_store_id": req.artifact_store_id,
                "producer_step_run_id": producer_step_run_id,
                "metadata": metadata,
                "metadata_types": metadata_types,
                "tags": tags,
                "created": now,
            },
        )
        if tags:
            attach_tags(conn, TaggableResourceType.ARTIFACT_VERSION, [req.id], tags, now)

    def _artifact_id(
        self,
        conn: Connection,
        req: ArtifactVersionRequest,
        new_artifacts: dict[str, str],
        now: datetime,
    ) -> str:
        name = req.artifact_name
        known = self._artifact_ids.get(name) or new_artifacts.get(name)
        if known is not None:
            return known
        row = conn.execute(_SELECT_ARTIFACT_ID, {"_name": name}).first()
        if row is not None:
            new_artifacts[name] = row.id
            return str(row.id)
        if self._sqlite:  # BEGIN IMMEDIATE already serialises writers
            artifact_id = _new_id()
            conn.execute(
                _INSERT_ARTIFACT,
                {
                    "id": artifact_id,
                    "name": name,
                    "has_custom_name": req.has_custom_name,
                    "version_count": 0,
                    "created": now,
                },
            )
        else:  # concurrent transactions may create the same artifact: first one wins
            insert_ignoring_duplicates(
                conn,
                t.artifacts,
                [
                    {
                        "id": _new_id(),
                        "name": name,
                        "has_custom_name": req.has_custom_name,
                        "version_count": 0,
                        "created": now,
                    }
                ],
            )
            artifact_id = str(conn.execute(_SELECT_ARTIFACT_ID, {"_name": name}).scalar_one())
        new_artifacts[name] = artifact_id
        return artifact_id

    def _next_version(
        self, conn: Connection, artifact_id: str, explicit: str | None
    ) -> tuple[str, int | None]:
        if explicit is not None:
            if explicit.isdigit():
                raise StoreError(
                    f"Artifact version name {explicit!r} is a number; numbers are assigned "
                    "automatically, use a name such as 'v1'."
                )
            return explicit, None
        number = conn.execute(_NEXT_VERSION, {"_artifact_id": artifact_id}).scalar_one()
        return str(number), int(number)

    def _step_links(
        self, conn: Connection, table: Table, step_ids: Sequence[str]
    ) -> dict[str, dict[str, ArtifactVersionList]]:
        if not step_ids:
            return {}
        links: dict[str, dict[str, ArtifactVersionList]] = {}
        for row in conn.execute(_LINK_QUERIES[table.name], {"ids": list(step_ids)}):
            per_step = links.setdefault(row.step_run_id, {})
            per_step.setdefault(row.name, ArtifactVersionList()).append(self._version_model(row))
        return links

    def _step_models(
        self, conn: Connection, rows: Sequence[Row[Any]], *, with_inputs: bool = True
    ) -> list[StepRunResponse]:
        ids = [row.id for row in rows]
        inputs = self._step_links(conn, t.step_run_inputs, ids) if with_inputs else {}
        outputs = self._step_links(conn, t.step_run_outputs, ids)
        result = []
        for row in rows:
            result.append(
                StepRunResponse(
                    id=row.id,
                    created=row.created,
                    name=row.name,
                    step_name=row.step_name,
                    pipeline_run_id=row.pipeline_run_id,
                    status=ExecutionStatus(row.status),
                    status_reason=row.status_reason,
                    source=row.source,
                    code_hash=row.code_hash,
                    cache_key=row.cache_key,
                    parameters=row.parameters,
                    config=row.config,
                    docstring=row.docstring,
                    start_time=row.start_time,
                    end_time=row.end_time,
                    original_step_run_id=row.original_step_run_id,
                    error=StepRunError(**row.error) if row.error else None,
                    attempts=row.attempts,
                    logs_uri=row.logs_uri,
                    attempt_errors=row.attempt_errors or [],
                    hook_errors=row.hook_errors or [],
                    inputs=inputs.get(row.id, {}),
                    outputs=outputs.get(row.id, {}),
                    model_version_id=row.model_version_id,
                    run_metadata=row.run_metadata or {},
                    run_metadata_types=row.run_metadata_types or {},
                ).attach(self._context)
            )
        return result

    def get_step_run(self, step_run_id: str) -> StepRunResponse:
        with self._read() as conn:
            row = self._find(conn, t.step_runs, step_run_id, "step run", by_name=False)
            return self._step_models(conn, [row])[0]

    def list_step_runs(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.step_runs)
                .where(t.step_runs.c.pipeline_run_id == pipeline_run_id)
                .order_by(t.step_runs.c.created, t.step_runs.c.id)
            ).all()
            return {model.name: model for model in self._step_models(conn, rows)}

    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        params = {
            "_key": cache_key,
            "_after": created_after or _EPOCH,
            "_status": ExecutionStatus.COMPLETED.value,
        }
        with self._read() as conn:
            rows = conn.execute(_CACHE_HIT, params).all()
        if not rows:
            return None
        outputs: dict[str, list[CachedOutput]] = {}
        for row in rows:
            if row.name is not None:
                outputs.setdefault(row.name, []).append(
                    CachedOutput(
                        id=row.id,
                        uri=row.uri,
                        materializer=row.materializer,
                        data_type=row.data_type,
                        content_hash=row.content_hash,
                        python_version=row.python_version,
                    )
                )
        return CacheHit(step_run_id=rows[0].step_run_id, outputs=outputs)

    def find_cached_step_run(
        self, cache_key: str, created_after: datetime | None = None
    ) -> StepRunResponse | None:
        # Outputs only: a cache hit needs what the step produced, not what it read.
        with self._read() as conn:
            row = conn.execute(
                _CACHED_STEP_RUN,
                {
                    "_key": cache_key,
                    "_after": created_after or _EPOCH,
                    "_status": ExecutionStatus.COMPLETED.value,
                },
            ).first()
            if row is None:
                return None
            return self._step_models(conn, [row], with_inputs=False)[0]

    # -- secrets ------------------------------------------------------------------------
    def _secret_model(self, row: Row[Any], values: dict[str, str] | None) -> SecretResponse:
        return SecretResponse(
            id=row.id, created=row.created, name=row.name, keys=row.keys, values=values
        ).attach(self._context)

    def create_secret(self, name: str, values: dict[str, str]) -> SecretResponse:
        _check_secret_values(name, values)
        now = _now()
        row = {
            "id": _new_id(),
            "name": name,
            "created": now,
            "updated": now,
            "keys": sorted(values),
            "ciphertext": self._cipher.encrypt(values),
        }
        try:
            with self._write() as conn:
                conn.execute(insert(t.secrets), row)
        except IntegrityError as exc:
            raise EntityExistsError(
                f"A secret named {name!r} already exists; update it or delete it first."
            ) from exc
        return self.get_secret(name)

    def get_secret(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        with self._read() as conn:
            row = self._find(conn, t.secrets, name_or_id, "secret")
        values = self._cipher.decrypt(row.ciphertext, row.name) if with_values else None
        return self._secret_model(row, values)

    def list_secrets(self) -> list[SecretResponse]:
        with self._read() as conn:
            rows = conn.execute(select(t.secrets).order_by(t.secrets.c.name)).all()
        return [self._secret_model(row, None) for row in rows]

    def update_secret(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        current = self.get_secret(name_or_id, with_values=True)
        merged = dict(values) if replace else {**current.secret_values, **values}
        _check_secret_values(current.name, merged)
        with self._write() as conn:
            conn.execute(
                update(t.secrets).where(t.secrets.c.id == current.id),
                {
                    "keys": sorted(merged),
                    "ciphertext": self._cipher.encrypt(merged),
                    "updated": _now(),
                },
            )
        return self.get_secret(current.id)

    def delete_secret(self, name_or_id: str) -> None:
        with self._read() as conn:
            row = self._find(conn, t.secrets, name_or_id, "secret")
        with self._write() as conn:
            conn.execute(t.secrets.delete().where(t.secrets.c.id == row.id))

    # -- artifacts ----------------------------------------------------------------------
    @staticmethod
    def _version_columns() -> list[Any]:
        return [*t.artifact_versions.c, t.artifacts.c.name.label("artifact_name")]

    def _version_model(self, row: Row[Any]) -> ArtifactVersionResponse:
        return ArtifactVersionResponse(
            id=row.id,
            created=row.created,
            artifact_id=row.artifact_id,
            name=row.artifact_name,
            version=row.version,
            uri=row.uri,
            materializer=row.materializer,
            data_type=row.data_type,
            content_hash=row.content_hash,
            size=row.size,
            python_version=row.python_version,
            type=row.type,
            artifact_store_id=row.artifact_store_id,
            producer_step_run_id=row.producer_step_run_id,
            metadata=row.metadata,
            metadata_types=row.metadata_types or {},
            tags=row.tags,
        ).attach(self._context)

    def _artifact_model(self, row: Row[Any], tags: list[str] | None = None) -> ArtifactResponse:
        return ArtifactResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            has_custom_name=row.has_custom_name,
            latest_version_number=row.version_count,
            tags=tags or [],
        ).attach(self._context)

    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        with self._read() as conn:
            row = self._find(conn, t.artifacts, name_or_id, "artifact")
            tags = tags_of(conn, TaggableResourceType.ARTIFACT, [row.id])
        return self._artifact_model(row, tags.get(row.id))

    def get_artifact_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        versions = t.artifact_versions
        base = select(*self._version_columns()).join(
            t.artifacts, t.artifacts.c.id == versions.c.artifact_id
        )
        with self._read() as conn:
            if version is None:
                try:
                    row = self._find(conn, versions, name_or_id, "artifact version", by_name=False)
                    return self._version_model(
                        conn.execute(base.where(versions.c.id == row.id)).one()
                    )
                except EntityNotFoundError:
                    pass
            artifact = self._find(conn, t.artifacts, name_or_id, "artifact")
            query = base.where(versions.c.artifact_id == artifact.id)
            if version is None:
                query = query.order_by(versions.c.created.desc(), versions.c.version_number.desc())
            else:
                query = query.where(versions.c.version == str(version))
            found = conn.execute(query.limit(1)).first()
            if found is None:
                raise EntityNotFoundError(
                    f"Artifact {artifact.name!r} has no version {version!r}."
                    if version is not None
                    else f"Artifact {artifact.name!r} has no versions."
                )
            return self._version_model(found)

    def list_artifact_versions(
        self, filter_model: ArtifactVersionFilter
    ) -> Page[ArtifactVersionResponse]:
        versions = t.artifact_versions
        query = select(*self._version_columns()).join(
            t.artifacts, t.artifacts.c.id == versions.c.artifact_id
        )
        if filter_model.artifact_id:
            query = query.where(versions.c.artifact_id == filter_model.artifact_id)
        if filter_model.artifact_name:
            query = query.where(t.artifacts.c.name == filter_model.artifact_name)
        if filter_model.producer_step_run_id:
            query = query.where(
                versions.c.producer_step_run_id == filter_model.producer_step_run_id
            )
        if filter_model.data_type:
            query = query.where(
                or_(
                    versions.c.data_type == filter_model.data_type,
                    versions.c.data_type.like(f"%.{filter_model.data_type}"),
                )
            )
        if filter_model.tag:
            # A version carries the tags given to it and the tags of its artifact.
            query = query.where(
                or_(
                    tagged_with(
                        versions.c.id, TaggableResourceType.ARTIFACT_VERSION, filter_model.tag
                    ),
                    tagged_with(
                        versions.c.artifact_id, TaggableResourceType.ARTIFACT, filter_model.tag
                    ),
                )
            )
        if filter_model.model_version_id:
            links = t.model_version_artifacts.c
            linked = select(links.artifact_version_id).where(
                links.model_version_id == filter_model.model_version_id
            )
            query = query.where(versions.c.id.in_(linked.scalar_subquery()))
        named = filter_model.model_copy(update={"name": None})
        if filter_model.name:
            query = query.where(t.artifacts.c.name == filter_model.name)
        with self._read() as conn:
            return self._page(conn, query, named, versions, self._version_model)


def _check_secret_values(name: str, values: dict[str, str]) -> None:
    if not values:
        raise StoreError(f"Secret {name!r} needs at least one key=value pair.")
    bad = [
        k for k, v in values.items() if not isinstance(k, str) or not isinstance(v, str) or not k
    ]
    if bad:
        raise StoreError(f"Secret {name!r}: keys and values must be non-empty strings ({bad}).")


def _step_update_values(update_model: StepRunUpdate) -> dict[str, Any]:
    """Column values of a step-run update; metadata is merged separately, with types."""
    values = update_model.model_dump(exclude_unset=True, exclude={"run_metadata"}, mode="json")
    _restore_times(values, update_model)
    return values


def _restore_times(values: dict[str, Any], update_model: StepRunUpdate) -> None:
    """JSON dumping turned datetimes into strings; put the real objects back."""
    if "end_time" in values:
        values["end_time"] = update_model.end_time
