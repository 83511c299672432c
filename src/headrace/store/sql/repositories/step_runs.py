"""Step runs: their records, input and output links, completion, and cache lookups.

The per-step verbs are a handful of statements built once at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus, MetadataResourceType
from headrace.exceptions import EntityExistsError, HeadraceError, StoreConflictError
from headrace.models import (
    ArtifactVersionList,
    ArtifactVersionRequest,
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
)
from headrace.models.step_run import CachedOutput, CacheHit, StepRunError, StepRunOverview
from headrace.models.wire import StepRecord, StepRunsCreated, StepRunUpdated
from headrace.store.sql.columns import columns
from headrace.store.sql.database import Connection, Record, in_list
from headrace.store.sql.model_registry import link as link_model_version
from headrace.store.sql.query import insert_sql, update_sql
from headrace.store.sql.repositories.artifacts import ArtifactRepository
from headrace.store.sql.repositories.base import Repository, now
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.step_records import record_error

if TYPE_CHECKING:
    from headrace.store.sql.write_behind import WriteBehind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STEP_RUN_COLUMNS = columns("step_runs")
_INSERT_STEP_RUN = insert_sql("step_runs", _STEP_RUN_COLUMNS)
_LINK_COLUMNS = ("step_run_id", "name", "position", "artifact_version_id")
_INSERT_STEP_INPUT = insert_sql("step_run_inputs", _LINK_COLUMNS)
_INSERT_STEP_OUTPUT = insert_sql("step_run_outputs", _LINK_COLUMNS)
_NEWEST_CACHED = (
    "FROM step_runs WHERE cache_key = :key AND status = :status AND created > :after "
    "ORDER BY created DESC LIMIT 1"
)
_CACHED_STEP_RUN_ID = f"SELECT id {_NEWEST_CACHED}"
_CACHED_STEP_RUN = f"SELECT * {_NEWEST_CACHED}"
_CACHE_HIT = (
    "SELECT step_runs.id AS step_run_id, step_run_outputs.name, artifact_versions.id, "
    "artifact_versions.uri, artifact_versions.materializer, artifact_versions.data_type, "
    "artifact_versions.content_hash, artifact_versions.python_version, "
    "artifact_versions.inline_content "
    "FROM step_runs "
    "LEFT OUTER JOIN step_run_outputs ON step_run_outputs.step_run_id = step_runs.id "
    "LEFT OUTER JOIN artifact_versions "
    "ON artifact_versions.id = step_run_outputs.artifact_version_id "
    f"WHERE step_runs.id = ({_CACHED_STEP_RUN_ID}) "
    "ORDER BY step_run_outputs.name, step_run_outputs.position"
)

_COMPLETED_PROBE = "SELECT status FROM step_runs WHERE id = :_id AND end_time IS NOT NULL"
_OF_RUN = "FROM step_runs WHERE pipeline_run_id = :run"
_STATUS_COUNTS = f"SELECT status, COUNT(*) AS n {_OF_RUN} GROUP BY status"
_FIRST_STEPS = f"SELECT * {_OF_RUN} ORDER BY created, id LIMIT :edge"
_LAST_STEPS = f"SELECT * {_OF_RUN} ORDER BY created DESC, id DESC LIMIT :edge"
_UNSUCCESSFUL_STEPS = (
    f"SELECT * {_OF_RUN} AND status NOT IN (:ok1, :ok2) ORDER BY created, id LIMIT :bad"
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


class StepRunRepository(Repository):
    """The ``step_runs`` table and its input and output links."""

    table = "step_runs"
    kind = "step run"
    by_name = False

    def __init__(self, sql: Any, artifacts: ArtifactRepository) -> None:
        super().__init__(sql)
        self.artifacts = artifacts

    # -- writes -------------------------------------------------------------------------
    def create_many(self, requests: Sequence[StepRunRequest]) -> None:
        """Record step runs in one transaction (all or none)."""
        if not requests:
            return
        with self.sql.write() as conn:
            self._insert_new(conn, requests)

    def _insert_new(self, conn: Connection, requests: Sequence[StepRunRequest]) -> None:
        try:
            self._insert(conn, requests)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            names = ", ".join(repr(r.name) for r in requests)
            raise EntityExistsError(
                f"Step(s) {names} already have a step run in run {requests[0].pipeline_run_id}."
            ) from exc

    @staticmethod
    def _insert(
        conn: Connection,
        requests: Sequence[StepRunRequest],
        final_values: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Insert step runs; ``final_values`` (by id) lays a completion onto a row so a
        step that starts and ends within one write is one INSERT, not INSERT + UPDATE."""
        at = now()
        rows: list[dict[str, Any]] = []
        links_in: list[dict[str, Any]] = []
        links_out: list[dict[str, Any]] = []
        for request in requests:
            values = dict.fromkeys(_STEP_RUN_COLUMNS)
            values.update(request.model_dump(exclude={"inputs", "outputs"}))
            values.update(created=request.start_time or at, attempts=0)
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
                link_model_version(conn, request.model_version_id, (), ids, at)

    @staticmethod
    def _set(conn: Connection, step_run_id: str, values: dict[str, Any]) -> None:
        if values:
            conn.run(update_sql("step_runs", tuple(values)), {**values, "_id": step_run_id})

    def update(self, step_run_id: str, update_model: StepRunUpdate) -> None:
        """Change a step run's status, end time or error; merge its metadata."""
        with self.sql.write() as conn:
            self._update(conn, step_run_id, update_model)

    def _update(self, conn: Connection, step_run_id: str, update_model: StepRunUpdate) -> None:
        self._set(conn, step_run_id, _update_values(update_model))
        if update_model.run_metadata:
            merge_metadata(
                conn, MetadataResourceType.STEP_RUN, step_run_id, update_model.run_metadata
            )

    def complete(
        self,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        """End a step in one transaction (see ``Store.complete_step_run``)."""
        with self.sql.write() as conn:
            remember = self.complete_in(
                conn, step_run_id, update_model, outputs, create, model_version_id
            )
        remember()  # only after the commit succeeded
        return _created_ids(outputs)

    def complete_later(
        self,
        behind: WriteBehind,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        """``complete``, committed with the next batch of ``behind``."""
        # The cache keys this write records, so cache lookups of other keys need not wait
        # for it; unknown when the step's own row was written before (it has a key).
        own_row_pending = any(request.id == step_run_id for request in create)
        keys = [r.cache_key for r in create if r.cache_key] if own_row_pending else None

        def write(conn: Connection) -> Callable[[], None]:
            return self.complete_in(
                conn, step_run_id, update_model, outputs, create, model_version_id
            )

        def probe(conn: Connection) -> bool:
            """Whether this completion is in the database (its row has its end)."""
            row = conn.first(_COMPLETED_PROBE, {"_id": step_run_id})
            return row is not None and (
                update_model.status is None or row.status == update_model.status.value
            )

        write.probe = probe  # type: ignore[attr-defined]
        behind.defer(write, keys)
        return _created_ids(outputs)

    def complete_in(
        self,
        conn: Connection,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> Callable[[], None]:
        """A step's end in the caller's transaction; returns what to do once committed."""
        values = _update_values(update_model)
        new_artifacts: dict[str, str] = {}
        at = now()
        own_row_pending = any(request.id == step_run_id for request in create)
        if create:
            final = {step_run_id: values} if own_row_pending else None
            self._insert(conn, create, final)
        links: list[dict[str, Any]] = []
        produced: list[str] = []
        for output_name, requests in outputs.items():
            for position, req in enumerate(requests):
                self.artifacts.insert_version(conn, req, step_run_id, new_artifacts, at)
                links.append(
                    {
                        "step_run_id": step_run_id,
                        "name": output_name,
                        "position": position,
                        "artifact_version_id": req.id,
                    }
                )
                produced.append(req.id)
        conn.run_many(_INSERT_STEP_OUTPUT, links)
        if not own_row_pending:
            self._set(conn, step_run_id, values)
        if update_model.run_metadata:
            merge_metadata(
                conn, MetadataResourceType.STEP_RUN, step_run_id, update_model.run_metadata
            )
        if model_version_id is not None:
            link_model_version(conn, model_version_id, (), produced, at)
        return lambda: self.artifacts.remember(new_artifacts)

    def apply(self, records: Sequence[StepRecord]) -> None:
        """Apply a client's queued step records in order, in one transaction (all or
        none); an error names the record that caused it."""
        remembers: list[Callable[[], None]] = []
        with self.sql.write() as conn:
            for index, record in enumerate(records):
                try:
                    if isinstance(record, StepRunsCreated):
                        self._insert_new(conn, record.step_runs)
                    elif isinstance(record, StepRunUpdated):
                        self._update(conn, record.step_run_id, record.update)
                    else:
                        remembers.append(
                            self.complete_in(
                                conn,
                                record.step_run_id,
                                record.update,
                                record.outputs,
                                record.create,
                                record.model_version_id,
                            )
                        )
                except HeadraceError as exc:
                    raise record_error(exc, index, record) from exc
        for remember in remembers:  # only after the commit succeeded
            remember()

    # -- reads --------------------------------------------------------------------------
    def _links(
        self, conn: Connection, table: str, step_ids: Sequence[str]
    ) -> dict[str, dict[str, ArtifactVersionList]]:
        if not step_ids:
            return {}
        params: dict[str, Any] = {}
        sql = _LINK_QUERIES[table].format(ids=in_list("s", list(step_ids), params))
        links: dict[str, dict[str, ArtifactVersionList]] = {}
        for row in conn.execute(sql, params):
            per_step = links.setdefault(row.step_run_id, {})
            per_step.setdefault(row.name, ArtifactVersionList()).append(
                self.artifacts.version_model(row)
            )
        return links

    def _links_of_run(
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
            per_step.setdefault(row.name, ArtifactVersionList()).append(
                self.artifacts.version_model(row)
            )
        return links

    def to_models(
        self,
        conn: Connection,
        rows: Sequence[Record],
        *,
        with_inputs: bool = True,
        pipeline_run_id: str | None = None,
    ) -> list[StepRunResponse]:
        """Responses of step-run rows, their links read in two queries for all of them
        (``pipeline_run_id``: the rows are all the steps of that run, so links are read by
        run)."""
        if pipeline_run_id is not None:
            inputs = self._links_of_run(conn, "step_run_inputs", pipeline_run_id)
            outputs = self._links_of_run(conn, "step_run_outputs", pipeline_run_id)
        else:
            ids = [row.id for row in rows]
            inputs = self._links(conn, "step_run_inputs", ids) if with_inputs else {}
            outputs = self._links(conn, "step_run_outputs", ids)
        return [
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
            ).attach(self.context)
            for row in rows
        ]

    def get(self, step_run_id: str) -> StepRunResponse:
        """One step run with its inputs and outputs."""
        with self.sql.read() as conn:
            return self.to_models(conn, [self.find(conn, step_run_id)])[0]

    def of_run(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        """Every step run of a run, by invocation id, in the order they started."""
        with self.sql.read() as conn:
            rows = conn.execute(
                "SELECT * FROM step_runs WHERE pipeline_run_id = :run ORDER BY created, id",
                {"run": pipeline_run_id},
            )
            models = self.to_models(conn, rows, pipeline_run_id=pipeline_run_id)
            return {model.name: model for model in models}

    def overview(
        self, pipeline_run_id: str, *, edge: int, max_unsuccessful: int
    ) -> StepRunOverview:
        """See ``Store.get_step_run_overview``: a count by status and three short,
        ordered reads, so a run of ten thousand steps hydrates a few dozen of them."""
        params: dict[str, Any] = {
            "run": pipeline_run_id,
            "edge": edge,
            "bad": max_unsuccessful,
            "ok1": ExecutionStatus.COMPLETED.value,
            "ok2": ExecutionStatus.CACHED.value,
        }
        with self.sql.read() as conn:
            counts = {row.status: int(row.n) for row in conn.execute(_STATUS_COUNTS, params)}
            first = conn.execute(_FIRST_STEPS, params) if edge else []
            last = list(reversed(conn.execute(_LAST_STEPS, params))) if edge else []
            bad = conn.execute(_UNSUCCESSFUL_STEPS, params) if max_unsuccessful else []
            unique = {row.id: row for row in (*first, *last, *bad)}
            models = {m.id: m for m in self.to_models(conn, list(unique.values()))}
        return StepRunOverview(
            total=sum(counts.values()),
            status_counts=counts,
            first=[models[row.id] for row in first],
            last=[models[row.id] for row in last],
            unsuccessful=[models[row.id] for row in bad],
        )

    def _may_be_deferred(self, cache_key: str) -> bool:
        """Whether deferred writes must be committed before looking ``cache_key`` up
        (a lookup of a key no queued write records reads the same without them)."""
        behind = self.sql.db.write_behind
        return behind is None or behind.may_hold(cache_key)

    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        """What reusing the newest successful step run with ``cache_key`` needs."""
        with self.sql.read(flush=self._may_be_deferred(cache_key)) as conn:
            rows = conn.execute(_CACHE_HIT, _cache_params(cache_key, created_after))
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
                        inline_content=row.inline_content,
                    )
                )
        return CacheHit(step_run_id=rows[0].step_run_id, outputs=outputs)

    def find_cached(
        self, cache_key: str, created_after: datetime | None = None
    ) -> StepRunResponse | None:
        """The newest successful step run with ``cache_key``, outputs only."""
        with self.sql.read(flush=self._may_be_deferred(cache_key)) as conn:
            row = conn.first(_CACHED_STEP_RUN, _cache_params(cache_key, created_after))
            if row is None:
                return None
            return self.to_models(conn, [row], with_inputs=False)[0]


def _created_ids(outputs: dict[str, list[ArtifactVersionRequest]]) -> dict[str, list[str]]:
    """The ids of the versions a completion creates, by output name."""
    return {name: [request.id for request in requests] for name, requests in outputs.items()}


def _cache_params(cache_key: str, created_after: datetime | None) -> dict[str, Any]:
    """Parameters of the newest completed step run with ``cache_key`` (after a time)."""
    return {
        "key": cache_key,
        "after": created_after or _EPOCH,
        "status": ExecutionStatus.COMPLETED.value,
    }


def _update_values(update_model: StepRunUpdate) -> dict[str, Any]:
    """Column values of a step-run update; metadata is merged separately, with types."""
    values = update_model.model_dump(
        exclude_unset=True, exclude={"run_metadata", "run_metadata_types"}, mode="json"
    )
    if "end_time" in values:  # JSON dumping made a string of it; keep the real object
        values["end_time"] = update_model.end_time
    return values
