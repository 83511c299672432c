"""``SqlStore``: the Store interface over SQL (SQLite by default, PostgreSQL on a server).

Statements are plain SQL run through ``database.py``: no SQLAlchemy on the path of a
run (it stays for the Alembic migrations). Each verb is one short transaction; the
per-step verbs are a handful of prebuilt statements.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from headrace.enums import ExecutionStatus, MetadataResourceType, TaggableResourceType
from headrace.exceptions import (
    EntityExistsError,
    EntityNotFoundError,
    StoreConflictError,
    StoreError,
)
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
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
)
from headrace.models.filters import BaseFilter
from headrace.models.step_run import CachedOutput, CacheHit, StepRunError
from headrace.store.base import Store
from headrace.store.sql.columns import columns
from headrace.store.sql.database import Connection, Record, in_list, open_database, sqlite_path
from headrace.store.sql.migrate import ensure_schema
from headrace.store.sql.model_registry import link as link_model_version
from headrace.store.sql.query import Query, insert_sql, select_all, update_sql
from headrace.store.sql.registry_methods import RegistryMethods, filtered_by_tag
from headrace.store.sql.run_endings import ended_if_orphaned
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.sql.stacks import StackMethods
from headrace.store.sql.tagging import (
    attach_tags,
    clean_tags,
    insert_ignoring_duplicates,
    tagged_with,
    tags_of,
)
from headrace.utils.names import secret_name_problem

M = TypeVar("M")

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIX_RE = re.compile(r"^[0-9a-f-]{4,36}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Statements on the per-step path, built once.
_STEP_RUN_COLUMNS = columns("step_runs")
_INSERT_STEP_RUN = insert_sql("step_runs", _STEP_RUN_COLUMNS)
_LINK_COLUMNS = ("step_run_id", "name", "position", "artifact_version_id")
_INSERT_STEP_INPUT = insert_sql("step_run_inputs", _LINK_COLUMNS)
_INSERT_STEP_OUTPUT = insert_sql("step_run_outputs", _LINK_COLUMNS)
_INSERT_ARTIFACT_VERSION = insert_sql("artifact_versions", columns("artifact_versions"))
_ARTIFACT_COLUMNS = ("id", "name", "has_custom_name", "version_count", "created")
_INSERT_ARTIFACT = insert_sql("artifacts", _ARTIFACT_COLUMNS)
_INSERT_ARTIFACT_IF_NEW = insert_sql("artifacts", _ARTIFACT_COLUMNS, ignore_duplicates=True)
_SELECT_ARTIFACT_ID = "SELECT id FROM artifacts WHERE name = :name"
_NEXT_VERSION = (
    "UPDATE artifacts SET version_count = version_count + 1 WHERE id = :_id RETURNING version_count"
)
_NEWEST_CACHED = (
    "FROM step_runs WHERE cache_key = :key AND status = :status AND created > :after "
    "ORDER BY created DESC LIMIT 1"
)
_CACHED_STEP_RUN_ID = f"SELECT id {_NEWEST_CACHED}"
_CACHED_STEP_RUN = f"SELECT * {_NEWEST_CACHED}"
_CACHE_HIT = (
    "SELECT step_runs.id AS step_run_id, step_run_outputs.name, artifact_versions.id, "
    "artifact_versions.uri, artifact_versions.materializer, artifact_versions.data_type, "
    "artifact_versions.content_hash, artifact_versions.python_version "
    "FROM step_runs "
    "LEFT OUTER JOIN step_run_outputs ON step_run_outputs.step_run_id = step_runs.id "
    "LEFT OUTER JOIN artifact_versions "
    "ON artifact_versions.id = step_run_outputs.artifact_version_id "
    f"WHERE step_runs.id = ({_CACHED_STEP_RUN_ID}) "
    "ORDER BY step_run_outputs.name, step_run_outputs.position"
)
_VERSION_SELECT = (
    "SELECT artifact_versions.*, artifacts.name AS artifact_name FROM artifact_versions "
    "JOIN artifacts ON artifacts.id = artifact_versions.artifact_id"
)


def _link_query(table: str) -> str:
    return (
        f"SELECT {table}.step_run_id, {table}.name, artifact_versions.*, "
        f"artifacts.name AS artifact_name FROM {table} "
        f"JOIN artifact_versions ON artifact_versions.id = {table}.artifact_version_id "
        "JOIN artifacts ON artifacts.id = artifact_versions.artifact_id "
        f"WHERE {table}.step_run_id IN {{ids}} "
        f"ORDER BY {table}.step_run_id, {table}.name, {table}.position"
    )


_LINK_QUERIES = {table: _link_query(table) for table in ("step_run_inputs", "step_run_outputs")}
_SNAPSHOT_SELECT = (
    "SELECT snapshots.*, pipelines.name AS pipeline_name FROM snapshots "
    "JOIN pipelines ON pipelines.id = snapshots.pipeline_id"
)
_RUN_SELECT = (
    "SELECT pipeline_runs.*, pipelines.name AS pipeline_name FROM pipeline_runs "
    "LEFT OUTER JOIN pipelines ON pipelines.id = pipeline_runs.pipeline_id"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class SqlStore(StackMethods, RegistryMethods, Store):
    """Metadata in a SQL database: SQLite (standard library driver) or PostgreSQL (psycopg).

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://user@host/db`` (SQLAlchemy's
            ``postgresql+psycopg://`` spelling works too).
        default_artifact_path: root of the default stack's artifact store, used when the
            default stack is created.
    """

    def __init__(self, url: str, *, default_artifact_path: str | None = None) -> None:
        from pathlib import Path

        from headrace.store.sql.secrets import KEY_FILE, SecretCipher

        self.url = url
        self._db = open_database(url)
        self._sqlite = self._db.dialect == "sqlite"
        ensure_schema(self._db)
        self._context = ResponseContext(self)
        self._default_artifact_path = default_artifact_path
        self._artifact_ids: dict[str, str] = {}
        database = sqlite_path(url) if self._sqlite else None
        key_directory = (
            Path(database).resolve().parent
            if database
            else Path(default_artifact_path or ".").resolve().parent
        )
        self._cipher = SecretCipher(key_directory)
        self._key_file = str(key_directory / KEY_FILE)
        self._database_file = str(Path(database).resolve()) if database else None

    def local_files(self) -> list[str]:
        files = [self._key_file]
        if self._database_file:
            suffixes = ("", "-wal", "-shm", "-journal", ".migrate.lock")
            files += [self._database_file + suffix for suffix in suffixes]
        return files

    # -- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; SQLite takes the write lock up front."""
        with self._db.write() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._db.read() as conn:
            yield conn

    def close(self) -> None:
        """Close the idle connections."""
        self._db.close()

    def after_fork(self) -> None:
        """Open fresh connections without touching the parent's."""
        self._db.after_fork()

    def _find(
        self, conn: Connection, table: str, name_or_id: str, kind: str, *, by_name: bool = True
    ) -> Record:
        """Find one row by exact id, exact name, or unique id prefix."""
        key = str(name_or_id).strip()
        select = select_all(table)
        if _UUID_RE.match(key):
            row = conn.first(f"{select} WHERE id = :key", {"key": key})
            if row is not None:
                return row
        if by_name and "name" in columns(table):
            row = conn.first(f"{select} WHERE name = :key", {"key": key})
            if row is not None:
                return row
        if _PREFIX_RE.match(key) and not _UUID_RE.match(key):
            rows = conn.execute(f"{select} WHERE id LIKE :prefix LIMIT 3", {"prefix": f"{key}%"})
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
        query: Query,
        filter_model: BaseFilter,
        to_model: Callable[[Record], M],
    ) -> Page[M]:
        table = query.table
        if filter_model.name is not None and "name" in columns(table):
            query.equal(f"{table}.name", filter_model.name)
        if filter_model.created_after is not None:
            query.add(f"{table}.created > {query.param(filter_model.created_after)}")
        if filter_model.created_before is not None:
            query.add(f"{table}.created < {query.param(filter_model.created_before)}")
        total = int(conn.scalar(query.count_sql(), query.params))
        direction, _, field = filter_model.sort_by.partition(":")
        if not field:
            direction, field = "desc", direction
        order = f"{query.column(field)} {'DESC' if direction == 'desc' else 'ASC'}"
        size = filter_model.size
        sql = query.sql(order, limit=size, offset=(filter_model.page - 1) * size)
        items = [to_model(row) for row in conn.execute(sql, query.params)]
        return Page[Any](
            index=filter_model.page,
            max_size=size,
            total_pages=max(1, -(-total // size)),
            total=total,
            items=items,
        )

    # -- pipelines ----------------------------------------------------------------------
    def _pipeline_model(self, row: Record, tags: list[str] | None = None) -> PipelineResponse:
        return PipelineResponse(
            id=row.id, created=row.created, name=row.name, docstring=row.docstring, tags=tags or []
        ).attach(self._context)

    def _pipeline_tags(self, conn: Connection, row: Record) -> PipelineResponse:
        tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id])
        return self._pipeline_model(row, tags.get(row.id))

    def get_or_create_pipeline(self, name: str, docstring: str | None = None) -> PipelineResponse:
        query, params = "SELECT * FROM pipelines WHERE name = :name", {"name": name}
        with self._read() as conn:
            row = conn.first(query, params)
        if row is None:
            values = {"id": _new_id(), "name": name, "created": _now(), "docstring": docstring}
            with self._write() as conn:  # created concurrently: the other one wins
                insert_ignoring_duplicates(conn, "pipelines", [values])
            with self._read() as conn:
                row = conn.one(query, params)
        return self._pipeline_model(row)  # a new pipeline has no tags; launches skip the read

    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        with self._read() as conn:
            return self._pipeline_tags(conn, self._find(conn, "pipelines", name_or_id, "pipeline"))

    def list_pipelines(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        query = filtered_by_tag(
            Query(select_all("pipelines"), "pipelines"),
            filter_model,
            "pipelines.id",
            TaggableResourceType.PIPELINE,
        )
        with self._read() as conn:
            page = self._page(conn, query, filter_model, lambda row: row)
            tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id for row in page.items])
        items = [self._pipeline_model(row, tags.get(row.id)) for row in page.items]
        return cast("Page[PipelineResponse]", page.model_copy(update={"items": items}))

    # -- snapshots ----------------------------------------------------------------------
    def _snapshot_model(self, row: Record) -> SnapshotResponse:
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

    @staticmethod
    def _unnamed_snapshot(request: SnapshotRequest, select: str) -> tuple[str, dict[str, Any]]:
        """The query of the unnamed snapshot of the same spec, pipeline and stack."""
        return (
            f"{select} WHERE snapshots.pipeline_id = :pipeline AND snapshots.spec_hash = :hash "
            "AND snapshots.name IS NULL AND snapshots.stack_id = :stack LIMIT 1",
            {"pipeline": request.pipeline_id, "hash": request.spec_hash, "stack": request.stack_id},
        )

    def create_snapshot(
        self, request: SnapshotRequest, *, replace: bool = False
    ) -> SnapshotResponse:
        if request.name is None:
            with self._read() as conn:
                row = conn.first(*self._unnamed_snapshot(request, _SNAPSHOT_SELECT))
            if row is not None:
                return self._snapshot_model(row)
        values = request.model_dump(mode="json")
        values["created"] = _now()
        with self._write() as conn:
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
        return self.get_snapshot(request.id)

    def ensure_snapshot(self, request: SnapshotRequest) -> str:
        if request.name is not None:
            raise StoreError("ensure_snapshot is for unnamed snapshots; use create_snapshot.")
        with self._read() as conn:
            found = conn.scalar(*self._unnamed_snapshot(request, "SELECT id FROM snapshots"))
        if found is not None:
            return str(found)
        values = request.model_dump(mode="json")
        values["created"] = _now()
        with self._write() as conn:
            conn.run(insert_sql("snapshots", tuple(values)), values)
        return request.id

    def delete_snapshot(self, name_or_id: str) -> None:
        with self._read() as conn:
            row = self._find(conn, "snapshots", name_or_id, "snapshot")
        with self._write() as conn:
            conn.run(
                "UPDATE pipeline_runs SET snapshot_id = NULL WHERE snapshot_id = :_id",
                {"_id": row.id},
            )
            conn.run("DELETE FROM snapshots WHERE id = :_id", {"_id": row.id})

    def get_snapshot(self, name_or_id: str) -> SnapshotResponse:
        with self._read() as conn:
            row = self._find(conn, "snapshots", name_or_id, "snapshot")
            full = conn.one(f"{_SNAPSHOT_SELECT} WHERE snapshots.id = :_id", {"_id": row.id})
            return self._snapshot_model(full)

    def list_snapshots(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        query = Query(_SNAPSHOT_SELECT, "snapshots")
        if filter_model.pipeline_id:
            query.equal("snapshots.pipeline_id", filter_model.pipeline_id)
        if filter_model.named_only:
            query.add("snapshots.name IS NOT NULL")
        with self._read() as conn:
            return self._page(conn, query, filter_model, self._snapshot_model)

    # -- runs ---------------------------------------------------------------------------
    def _run_model(self, row: Record) -> PipelineRunResponse:
        row = ended_if_orphaned(row, self._write, _RUN_SELECT)
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
        ).attach(self._context)

    def create_run(self, request: PipelineRunRequest) -> PipelineRunResponse:
        values = request.model_dump()
        values.update(created=_now(), outputs={}, tags=clean_tags(request.tags))
        try:
            with self._write() as conn:
                conn.run(insert_sql("pipeline_runs", tuple(values)), values)
                attach_tags(
                    conn, TaggableResourceType.PIPELINE_RUN, [request.id], values["tags"], _now()
                )
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            with self._read() as conn:
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
        return self.get_run(request.id)

    def update_run(self, run_id: str, update_model: PipelineRunUpdate) -> PipelineRunResponse:
        values = update_model.model_dump(exclude_unset=True)
        if update_model.hook_errors is not None:
            values["hook_errors"] = [e.model_dump() for e in update_model.hook_errors]
        if values:
            with self._write() as conn:
                changed = conn.run(
                    update_sql("pipeline_runs", tuple(values)), {**values, "_id": run_id}
                )
                if changed == 0:
                    raise EntityNotFoundError(f"No pipeline run has the id {run_id!r}.")
        return self.get_run(run_id)

    def get_run(self, name_or_id: str) -> PipelineRunResponse:
        with self._read() as conn:
            if _UUID_RE.match(str(name_or_id)):  # the common case: one query
                full = conn.first(
                    f"{_RUN_SELECT} WHERE pipeline_runs.id = :_id", {"_id": name_or_id}
                )
                if full is not None:
                    return self._run_model(full)
            row = self._find(conn, "pipeline_runs", name_or_id, "pipeline run")
            full = conn.one(f"{_RUN_SELECT} WHERE pipeline_runs.id = :_id", {"_id": row.id})
            return self._run_model(full)

    def list_runs(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        query = Query(_RUN_SELECT, "pipeline_runs")
        if filter_model.pipeline_id:
            query.equal("pipeline_runs.pipeline_id", filter_model.pipeline_id)
        if filter_model.pipeline_name:
            query.equal("pipelines.name", filter_model.pipeline_name)
        if filter_model.snapshot_id:
            query.equal("pipeline_runs.snapshot_id", filter_model.snapshot_id)
        if filter_model.triggered_by_step_run_id:
            query.equal(
                "pipeline_runs.triggered_by_step_run_id", filter_model.triggered_by_step_run_id
            )
        if filter_model.triggered_by_run_id:
            query.add(
                "pipeline_runs.triggered_by_step_run_id IN (SELECT id FROM step_runs "
                f"WHERE pipeline_run_id = {query.param(filter_model.triggered_by_run_id)})"
            )
        if filter_model.status:
            query.equal("pipeline_runs.status", filter_model.status.value)
        if not filter_model.include_unlisted:
            query.equal("pipeline_runs.unlisted", False)
        if filter_model.unlisted is not None:
            query.equal("pipeline_runs.unlisted", filter_model.unlisted)
        filtered_by_tag(query, filter_model, "pipeline_runs.id", TaggableResourceType.PIPELINE_RUN)
        if filter_model.model_version_id:
            query.add(
                "pipeline_runs.id IN (SELECT pipeline_run_id FROM model_version_runs "
                f"WHERE model_version_id = {query.param(filter_model.model_version_id)})"
            )
        with self._read() as conn:
            return self._page(conn, query, filter_model, self._run_model)

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
        except StoreConflictError as exc:
            if not exc.unique:
                raise
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
            values = dict.fromkeys(_STEP_RUN_COLUMNS)
            values.update(request.model_dump(exclude={"inputs", "outputs"}))
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
        conn.run_many(_INSERT_STEP_RUN, rows)
        conn.run_many(_INSERT_STEP_INPUT, links_in)
        conn.run_many(_INSERT_STEP_OUTPUT, links_out)
        for request in requests:
            if request.model_version_id is not None and request.outputs:
                # A cache hit's outputs belong to this run's model version too.
                ids = [av for versions in request.outputs.values() for av in versions]
                link_model_version(conn, request.model_version_id, (), ids, now)

    @staticmethod
    def _update_step_run(conn: Connection, step_run_id: str, values: dict[str, Any]) -> None:
        if values:
            conn.run(update_sql("step_runs", tuple(values)), {**values, "_id": step_run_id})

    def update_step_run(self, step_run_id: str, update_model: StepRunUpdate) -> None:
        values = _step_update_values(update_model)
        with self._write() as conn:
            self._update_step_run(conn, step_run_id, values)
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
            links: list[dict[str, Any]] = []
            for output_name, requests in outputs.items():
                ids = created_ids.setdefault(output_name, [])
                for position, req in enumerate(requests):
                    self._insert_version(conn, req, step_run_id, new_artifacts, now)
                    links.append(
                        {
                            "step_run_id": step_run_id,
                            "name": output_name,
                            "position": position,
                            "artifact_version_id": req.id,
                        }
                    )
                    ids.append(req.id)
            conn.run_many(_INSERT_STEP_OUTPUT, links)
            if not own_row_pending:
                self._update_step_run(conn, step_run_id, values)
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
        except StoreConflictError as exc:
            if not exc.unique:
                raise
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
        conn.run(
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
                "visualizations": [v.model_dump(mode="json") for v in req.visualizations] or None,
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
        found = conn.scalar(_SELECT_ARTIFACT_ID, {"name": name})
        if found is not None:
            new_artifacts[name] = str(found)
            return str(found)
        artifact_id = _new_id()
        values = {
            "id": artifact_id,
            "name": name,
            "has_custom_name": req.has_custom_name,
            "version_count": 0,
            "created": now,
        }
        if self._sqlite:  # BEGIN IMMEDIATE already serialises writers
            conn.run(_INSERT_ARTIFACT, values)
        else:  # concurrent transactions may create the same artifact: first one wins
            conn.run(_INSERT_ARTIFACT_IF_NEW, values)
            artifact_id = str(conn.scalar(_SELECT_ARTIFACT_ID, {"name": name}))
        new_artifacts[name] = artifact_id
        return artifact_id

    @staticmethod
    def _next_version(
        conn: Connection, artifact_id: str, explicit: str | None
    ) -> tuple[str, int | None]:
        if explicit is not None:
            if explicit.isdigit():
                raise StoreError(
                    f"Artifact version name {explicit!r} is a number; numbers are assigned "
                    "automatically, use a name such as 'v1'."
                )
            return explicit, None
        number = conn.scalar(_NEXT_VERSION, {"_id": artifact_id})
        if number is None:
            raise EntityNotFoundError(f"No artifact has the id {artifact_id!r}.")
        return str(number), int(number)

    def _step_links_of_run(
        self, conn: Connection, table: str, pipeline_run_id: str
    ) -> dict[str, dict[str, ArtifactVersionList]]:
        """The links of every step of a run: one query on the run id, not thousands of
        bound step ids."""
        sql = _LINK_QUERIES[table].format(
            ids="(SELECT id FROM step_runs WHERE pipeline_run_id = :_run)"
        )
        links: dict[str, dict[str, ArtifactVersionList]] = {}
        for row in conn.execute(sql, {"_run": pipeline_run_id}):
            per_step = links.setdefault(row.step_run_id, {})
            per_step.setdefault(row.name, ArtifactVersionList()).append(self._version_model(row))
        return links

    def _step_links(
        self, conn: Connection, table: str, step_ids: Sequence[str]
    ) -> dict[str, dict[str, ArtifactVersionList]]:
        if not step_ids:
            return {}
        params: dict[str, Any] = {}
        sql = _LINK_QUERIES[table].format(ids=in_list("s", list(step_ids), params))
        links: dict[str, dict[str, ArtifactVersionList]] = {}
        for row in conn.execute(sql, params):
            per_step = links.setdefault(row.step_run_id, {})
            per_step.setdefault(row.name, ArtifactVersionList()).append(self._version_model(row))
        return links

    def _step_models(
        self,
        conn: Connection,
        rows: Sequence[Record],
        *,
        with_inputs: bool = True,
        pipeline_run_id: str | None = None,
    ) -> list[StepRunResponse]:
        """Response models of step-run rows (``pipeline_run_id``: the rows are all the
        steps of that run, so links are read by run)."""
        if pipeline_run_id is not None:
            inputs = self._step_links_of_run(conn, "step_run_inputs", pipeline_run_id)
            outputs = self._step_links_of_run(conn, "step_run_outputs", pipeline_run_id)
        else:
            ids = [row.id for row in rows]
            inputs = self._step_links(conn, "step_run_inputs", ids) if with_inputs else {}
            outputs = self._step_links(conn, "step_run_outputs", ids)
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
            row = self._find(conn, "step_runs", step_run_id, "step run", by_name=False)
            return self._step_models(conn, [row])[0]

    def list_step_runs(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM step_runs WHERE pipeline_run_id = :run ORDER BY created, id",
                {"run": pipeline_run_id},
            )
            models = self._step_models(conn, rows, pipeline_run_id=pipeline_run_id)
            return {model.name: model for model in models}

    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        params = _cache_params(cache_key, created_after)
        with self._read() as conn:
            rows = conn.execute(_CACHE_HIT, params)
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
        params = _cache_params(cache_key, created_after)
        with self._read() as conn:
            row = conn.first(_CACHED_STEP_RUN, params)
            if row is None:
                return None
            return self._step_models(conn, [row], with_inputs=False)[0]

    # -- secrets ------------------------------------------------------------------------
    def _secret_model(self, row: Record, values: dict[str, str] | None) -> SecretResponse:
        return SecretResponse(
            id=row.id, created=row.created, name=row.name, keys=row["keys"], values=values
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
                conn.run(insert_sql("secrets", tuple(row)), row)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A secret named {name!r} already exists; update it or delete it first."
            ) from exc
        return self.get_secret(name)

    def get_secret(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        with self._read() as conn:
            row = self._find(conn, "secrets", name_or_id, "secret")
        values = self._cipher.decrypt(row.ciphertext, row.name) if with_values else None
        return self._secret_model(row, values)

    def list_secrets(self) -> list[SecretResponse]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM secrets ORDER BY name")
        return [self._secret_model(row, None) for row in rows]

    def update_secret(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        current = self.get_secret(name_or_id, with_values=True)
        merged = dict(values) if replace else {**current.secret_values, **values}
        _check_secret_values(current.name, merged)
        with self._write() as conn:
            conn.run(
                update_sql("secrets", ("keys", "ciphertext", "updated")),
                {
                    "_id": current.id,
                    "keys": sorted(merged),
                    "ciphertext": self._cipher.encrypt(merged),
                    "updated": _now(),
                },
            )
        return self.get_secret(current.id)

    def delete_secret(self, name_or_id: str) -> None:
        with self._read() as conn:
            row = self._find(conn, "secrets", name_or_id, "secret")
        with self._write() as conn:
            conn.run("DELETE FROM secrets WHERE id = :_id", {"_id": row.id})

    # -- artifacts ----------------------------------------------------------------------
    def _version_model(self, row: Record) -> ArtifactVersionResponse:
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
            visualizations=row.visualizations or [],
        ).attach(self._context)

    def _artifact_model(self, row: Record, tags: list[str] | None = None) -> ArtifactResponse:
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
            row = self._find(conn, "artifacts", name_or_id, "artifact")
            tags = tags_of(conn, TaggableResourceType.ARTIFACT, [row.id])
        return self._artifact_model(row, tags.get(row.id))

    def get_artifact_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        with self._read() as conn:
            if version is None:
                try:
                    row = self._find(
                        conn, "artifact_versions", name_or_id, "artifact version", by_name=False
                    )
                    return self._version_model(
                        conn.one(
                            f"{_VERSION_SELECT} WHERE artifact_versions.id = :_id", {"_id": row.id}
                        )
                    )
                except EntityNotFoundError:
                    pass
            artifact = self._find(conn, "artifacts", name_or_id, "artifact")
            query = Query(_VERSION_SELECT, "artifact_versions")
            query.equal("artifact_versions.artifact_id", artifact.id)
            order = ""
            if version is None:
                order = "artifact_versions.created DESC, artifact_versions.version_number DESC"
            else:
                query.equal("artifact_versions.version", str(version))
            found = conn.first(query.sql(order, limit=1), query.params)
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
        query = Query(_VERSION_SELECT, "artifact_versions")
        if filter_model.artifact_id:
            query.equal("artifact_versions.artifact_id", filter_model.artifact_id)
        if filter_model.artifact_name:
            query.equal("artifacts.name", filter_model.artifact_name)
        if filter_model.producer_step_run_id:
            query.equal("artifact_versions.producer_step_run_id", filter_model.producer_step_run_id)
        if filter_model.data_type:
            query.add(
                f"artifact_versions.data_type = {query.param(filter_model.data_type)} "
                f"OR artifact_versions.data_type LIKE {query.param('%.' + filter_model.data_type)}"
            )
        if filter_model.tag:
            # A version carries the tags given to it and the tags of its artifact.
            own = tagged_with(
                query,
                "artifact_versions.id",
                TaggableResourceType.ARTIFACT_VERSION,
                filter_model.tag,
            )
            inherited = tagged_with(
                query,
                "artifact_versions.artifact_id",
                TaggableResourceType.ARTIFACT,
                filter_model.tag,
            )
            query.add(f"{own} OR {inherited}")
        if filter_model.model_version_id:
            query.add(
                "artifact_versions.id IN (SELECT artifact_version_id FROM model_version_artifacts "
                f"WHERE model_version_id = {query.param(filter_model.model_version_id)})"
            )
        named = filter_model.model_copy(update={"name": None})
        if filter_model.name:
            query.equal("artifacts.name", filter_model.name)
        with self._read() as conn:
            return self._page(conn, query, named, self._version_model)


def _cache_params(cache_key: str, created_after: datetime | None) -> dict[str, Any]:
    """Parameters of the newest completed step run with ``cache_key`` (after a time)."""
    return {
        "key": cache_key,
        "after": created_after or _EPOCH,
        "status": ExecutionStatus.COMPLETED.value,
    }


def _check_secret_values(name: str, values: dict[str, str]) -> None:
    problem = secret_name_problem(name)
    if problem is not None:
        raise StoreError(f"Secret name {name!r} {problem}.")
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
