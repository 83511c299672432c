"""Step runs: their records, input and output links, completion, and cache lookups.

Writes go through ``step_writes.StepWrites`` (rows collected per statement, written in
bulk), whether one step's or a group commit's thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from headrace.enums import ExecutionStatus
from headrace.exceptions import HeadraceError
from headrace.models import (
    ArtifactVersionList,
    ArtifactVersionRequest,
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
)
from headrace.models.step_run import CachedOutput, CacheHit, StepRunError, StepRunOverview
from headrace.models.wire import StepRecord, StepRunsCreated, StepRunUpdated
from headrace.store.sql.database import Connection, Record, in_list
from headrace.store.sql.repositories.artifacts import ArtifactRepository
from headrace.store.sql.repositories.base import Repository
from headrace.store.sql.step_writes import StepWrites
from headrace.store.step_records import record_error

if TYPE_CHECKING:
    from headrace.store.sql.write_behind import WriteBehind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
        writes = StepWrites(self.artifacts)
        writes.started(requests)
        self._write(writes)

    def update(self, step_run_id: str, update_model: StepRunUpdate) -> None:
        """Change a step run's status, end time or error; merge its metadata."""
        writes = StepWrites(self.artifacts)
        writes.updated(step_run_id, update_model)
        self._write(writes)

    def complete(
        self,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        """End a step in one transaction (see ``Store.complete_step_run``)."""
        writes = StepWrites(self.artifacts)
        writes.completed(step_run_id, update_model, outputs, create, model_version_id)
        self._write(writes)
        return _created_ids(outputs)

    def _write(self, writes: StepWrites) -> None:
        with self.sql.write() as conn:
            remember = writes.write(conn)
        remember()  # only after the commit succeeded

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
        behind.defer(Completion(step_run_id, update_model, outputs, create, model_version_id), keys)
        return _created_ids(outputs)

    # -- the write-behind's batches (``write_behind.BatchWriter``) ----------------------
    def write_batch(self, conn: Connection, batch: Sequence[Completion]) -> Callable[[], None]:
        """Write deferred completions in the batch's transaction, in bulk."""
        writes = StepWrites(self.artifacts)
        for completion in batch:
            writes.completed(*completion)
        return writes.write(conn)

    @staticmethod
    def committed(conn: Connection, completion: Completion) -> bool:
        """Whether ``completion`` is in the database (its row has its end)."""
        row = conn.first(_COMPLETED_PROBE, {"_id": completion.step_run_id})
        status = completion.update_model.status
        return row is not None and (status is None or row.status == status.value)

    def apply(self, records: Sequence[StepRecord]) -> None:
        """Apply a client's queued step records in order, in one transaction (all or
        none); an error names the record that caused it.

        Written in bulk; a batch that fails is applied again one record after the other
        (still all or none) to find the record to name.
        """
        writes = StepWrites(self.artifacts)
        for record in records:
            _collect(writes, record)
        try:
            self._write(writes)
        except HeadraceError:
            pass
        else:
            return
        remembers: list[Callable[[], None]] = []
        with self.sql.write() as conn:
            for index, record in enumerate(records):
                single = StepWrites(self.artifacts)
                _collect(single, record)
                try:
                    remembers.append(single.write(conn))
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


class Completion(NamedTuple):
    """A step's end, deferred to the write-behind's next batch."""

    step_run_id: str
    update_model: StepRunUpdate
    outputs: dict[str, list[ArtifactVersionRequest]]
    create: Sequence[StepRunRequest]
    model_version_id: str | None


def _collect(writes: StepWrites, record: StepRecord) -> None:
    if isinstance(record, StepRunsCreated):
        writes.started(record.step_runs)
    elif isinstance(record, StepRunUpdated):
        writes.updated(record.step_run_id, record.update)
    else:
        writes.completed(
            record.step_run_id,
            record.update,
            record.outputs,
            record.create,
            record.model_version_id,
        )
