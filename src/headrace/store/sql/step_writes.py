"""Step records written in bulk: the rows of many step starts, updates and completions,
collected per statement and written with one ``executemany`` each.

A group commit of thousands of step completions used to run a dozen statements per
step (and as many parameter dictionaries to encode); here a batch runs a handful of
statements whatever its size, in an order that satisfies the foreign keys: step runs,
then artifacts and their versions (which name the step run that produced them), then the
input and output links (which name versions), then updates of rows written before,
metadata and model-version links. The synchronous verbs (``complete``, ``create_many``,
``update``) and the REST batch (``apply``) go through the same code with batches of
their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from headrace.enums import MetadataResourceType
from headrace.exceptions import EntityExistsError, StoreConflictError
from headrace.models import ArtifactVersionRequest, StepRunRequest, StepRunUpdate
from headrace.store.sql.columns import columns
from headrace.store.sql.query import insert_sql, update_sql
from headrace.store.sql.repositories.artifacts import NewVersion
from headrace.store.sql.repositories.base import now
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.sql.tagging import insert_ignoring_duplicates

if TYPE_CHECKING:
    from headrace.store.sql.database import Connection
    from headrace.store.sql.repositories.artifacts import ArtifactRepository

STEP_RUN_COLUMNS = columns("step_runs")
_INSERT_STEP_RUN = insert_sql("step_runs", STEP_RUN_COLUMNS)
_LINK_COLUMNS = ("step_run_id", "name", "position", "artifact_version_id")
_INSERT_STEP_INPUT = insert_sql("step_run_inputs", _LINK_COLUMNS)
_INSERT_STEP_OUTPUT = insert_sql("step_run_outputs", _LINK_COLUMNS)

Row = tuple[Any, ...]


class StepWrites:
    """The rows of step-run writes, in the order they were added, written together.

    Args:
        artifacts: numbers and inserts the output versions (and their artifacts).
    """

    def __init__(self, artifacts: ArtifactRepository) -> None:
        self._artifacts = artifacts
        self._step_runs: list[Row] = []
        self._started: list[StepRunRequest] = []  # starts recorded on their own
        self._versions: list[NewVersion] = []
        self._inputs: list[Row] = []
        self._outputs: list[Row] = []
        self._updates: list[tuple[str, Row]] = []  # statement, values
        self._metadata: list[tuple[str, Mapping[str, Any]]] = []  # step run id, metadata
        self._model_links: list[tuple[str, str, datetime]] = []  # model version, version

    # -- collecting ---------------------------------------------------------------------
    def started(self, requests: Sequence[StepRunRequest]) -> None:
        """Step runs recorded on their own (``create_step_runs``): a step that has a run
        already is refused as ``EntityExistsError`` naming the steps."""
        self._started.extend(requests)
        self._add_step_runs(requests, now(), None, None)

    def updated(self, step_run_id: str, update_model: StepRunUpdate) -> None:
        """A change of a step run's status, end or error; its metadata is merged."""
        self._update(step_run_id, update_values(update_model))
        if update_model.run_metadata:
            self._metadata.append((step_run_id, update_model.run_metadata))

    def completed(
        self,
        step_run_id: str,
        update_model: StepRunUpdate,
        outputs: Mapping[str, Sequence[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> None:
        """A step's end (see ``Store.complete_step_run``): the step runs written with it
        (its own row among them lays the end onto its insert), its output versions and
        links, its metadata and its model-version links."""
        at = now()
        values = update_values(update_model)
        own_row_pending = any(request.id == step_run_id for request in create)
        if create:
            self._add_step_runs(create, at, step_run_id if own_row_pending else None, values)
        for output_name, versions in outputs.items():
            for position, version in enumerate(versions):
                self._versions.append(NewVersion(version, step_run_id, at))
                self._outputs.append((step_run_id, output_name, position, version.id))
                if model_version_id is not None:
                    self._model_links.append((model_version_id, version.id, at))
        if not own_row_pending:
            self._update(step_run_id, values)
        if update_model.run_metadata:
            self._metadata.append((step_run_id, update_model.run_metadata))

    def _add_step_runs(
        self,
        requests: Sequence[StepRunRequest],
        at: datetime,
        final_id: str | None,
        final_values: dict[str, Any] | None,
    ) -> None:
        for request in requests:
            values = dict(request.__dict__)  # the fields, without dumping the model
            status = request.status
            values["status"] = status.value if isinstance(status, Enum) else status
            values["created"] = request.start_time or at
            values["attempts"] = 0
            if request.error is not None:
                values["error"] = request.error.model_dump()
            if final_values is not None and request.id == final_id:
                # A step that starts and ends within one batch is one INSERT.
                values.update(final_values)
            self._step_runs.append(tuple(values.get(column) for column in STEP_RUN_COLUMNS))
            for links, source in ((self._inputs, request.inputs), (self._outputs, request.outputs)):
                for name, ids in source.items():
                    links.extend((request.id, name, i, av) for i, av in enumerate(ids))
            if request.model_version_id is not None and request.outputs:
                # A cache hit's outputs belong to this run's model version too.
                self._model_links.extend(
                    (request.model_version_id, av, at)
                    for versions in request.outputs.values()
                    for av in versions
                )

    def _update(self, step_run_id: str, values: dict[str, Any]) -> None:
        if values:
            self._updates.append(
                (update_sql("step_runs", tuple(values)), (*values.values(), step_run_id))
            )

    # -- writing ------------------------------------------------------------------------
    def write(self, conn: Connection) -> Callable[[], None]:
        """Write everything collected in the caller's transaction; returns what to do
        once it committed (remember the artifact ids learned)."""
        self._insert_step_runs(conn)
        new_artifacts: dict[str, str] = {}
        self._artifacts.insert_versions(conn, self._versions, new_artifacts)
        conn.run_rows(_INSERT_STEP_INPUT, self._inputs)
        conn.run_rows(_INSERT_STEP_OUTPUT, self._outputs)
        for sql, rows in _runs_of_one_statement(self._updates):
            conn.run_rows(sql, rows)
        for step_run_id, metadata in self._metadata:
            merge_metadata(conn, MetadataResourceType.STEP_RUN, step_run_id, metadata)
        if self._model_links:
            insert_ignoring_duplicates(
                conn,
                "model_version_artifacts",
                [
                    {"model_version_id": model_version, "artifact_version_id": av, "created": at}
                    for model_version, av, at in self._model_links
                ],
            )
        artifacts = self._artifacts
        return lambda: artifacts.remember(new_artifacts)

    def _insert_step_runs(self, conn: Connection) -> None:
        try:
            conn.run_rows(_INSERT_STEP_RUN, self._step_runs)
        except StoreConflictError as exc:
            if not exc.unique or not self._started:
                raise
            names = ", ".join(repr(r.name) for r in self._started)
            raise EntityExistsError(
                f"Step(s) {names} already have a step run in run "
                f"{self._started[0].pipeline_run_id}."
            ) from exc


def _runs_of_one_statement(updates: list[tuple[str, Row]]) -> Iterator[tuple[str, list[Row]]]:
    """Consecutive updates with the same statement, as one ``executemany`` each (their
    order is kept: a later update of a row wins)."""
    index = 0
    while index < len(updates):
        sql = updates[index][0]
        rows = []
        while index < len(updates) and updates[index][0] == sql:
            rows.append(updates[index][1])
            index += 1
        yield sql, rows


def update_values(update_model: StepRunUpdate) -> dict[str, Any]:
    """Column values of a step-run update; metadata is merged separately, with types."""
    values = update_model.model_dump(
        exclude_unset=True, exclude={"run_metadata", "run_metadata_types"}, mode="json"
    )
    if "end_time" in values:  # JSON dumping made a string of it; keep the real object
        values["end_time"] = update_model.end_time
    return values
