"""The model, tag and metadata verbs of ``SqlStore``, kept apart from the run and
artifact verbs so each module stays readable.

``RegistryMethods`` is a mixin of ``SqlStore``: it relies on the store's transaction
helpers (``_write``, ``_read``), row lookup (``_find``), paging (``_page``) and response
context, declared below for the type checker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from headrace.enums import MetadataResourceType, ModelStages, TaggableResourceType
from headrace.exceptions import EntityNotFoundError, StoreConflictError
from headrace.models import (
    ModelFilter,
    ModelResponse,
    ModelVersionFilter,
    ModelVersionRequest,
    ModelVersionResponse,
    ModelVersionUpdate,
    Page,
    ResponseContext,
    TagResponse,
)
from headrace.models.filters import BaseFilter
from headrace.store.sql import model_registry as registry
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, update_sql
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.sql.tagging import (
    attach_tags,
    clean_tags,
    detach_tags,
    tag_counts,
    tagged_with,
    tags_of,
)

# The table each taggable resource lives in, and the ones that keep a JSON read copy of
# their tags (runs and artifact versions, read on hot paths).
TAGGABLE_TABLES: dict[TaggableResourceType, str] = {
    TaggableResourceType.PIPELINE: "pipelines",
    TaggableResourceType.PIPELINE_RUN: "pipeline_runs",
    TaggableResourceType.ARTIFACT: "artifacts",
    TaggableResourceType.ARTIFACT_VERSION: "artifact_versions",
    TaggableResourceType.MODEL: "models",
    TaggableResourceType.MODEL_VERSION: "model_versions",
}
TAG_COPIES = frozenset({TaggableResourceType.PIPELINE_RUN, TaggableResourceType.ARTIFACT_VERSION})

_RESOURCE_NAMES: dict[str, str] = {
    TaggableResourceType.PIPELINE: "pipeline",
    TaggableResourceType.PIPELINE_RUN: "pipeline run",
    TaggableResourceType.ARTIFACT: "artifact",
    TaggableResourceType.ARTIFACT_VERSION: "artifact version",
    TaggableResourceType.MODEL: "model",
    TaggableResourceType.MODEL_VERSION: "model version",
    MetadataResourceType.STEP_RUN: "step run",
}


def _now() -> datetime:
    return datetime.now(UTC)


class RegistryMethods:
    """Models and their versions, tags, and run metadata over SQL."""

    # Provided by SqlStore.
    _context: ResponseContext
    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]
    _find: Callable[..., Record]
    _page: Callable[..., Page[Any]]

    # -- models -------------------------------------------------------------------------
    def _model_response(self, row: Record, tags: list[str]) -> ModelResponse:
        return ModelResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            description=row.description,
            license=row.license,
            audience=row.audience,
            use_cases=row.use_cases,
            limitations=row.limitations,
            trade_offs=row.trade_offs,
            ethics=row.ethics,
            tags=tags,
            latest_version_number=row.version_count,
        ).attach(self._context)

    def _model_version_response(self, row: Record, tags: list[str]) -> ModelVersionResponse:
        return ModelVersionResponse(
            id=row.id,
            created=row.created,
            model_id=row.model_id,
            model_name=row.model_name,
            name=row.name,
            number=row.number,
            stage=ModelStages(row.stage) if row.stage else None,
            description=row.description,
            updated=row.updated,
            tags=tags,
            run_metadata=row.run_metadata or {},
            run_metadata_types=row.run_metadata_types or {},
        ).attach(self._context)

    def _model_versions(self, conn: Connection, rows: Sequence[Record]) -> list[Any]:
        tags = tags_of(conn, TaggableResourceType.MODEL_VERSION, [row.id for row in rows])
        return [self._model_version_response(row, tags.get(row.id, [])) for row in rows]

    def resolve_model_version(self, request: ModelVersionRequest) -> ModelVersionResponse:
        request = request.model_copy(update={"tags": clean_tags(request.tags)})
        for attempt in range(3):
            try:
                with self._write() as conn:
                    version_id = registry.resolve_version(conn, request, _now())
                break
            except StoreConflictError as exc:
                # Another writer created the same named version first (PostgreSQL; SQLite
                # writers are serialised): the next attempt finds it.
                if attempt == 2 or not exc.unique:
                    raise
        return self.get_model_version(version_id)

    def get_model(self, name_or_id: str) -> ModelResponse:
        with self._read() as conn:
            row = self._find(conn, "models", name_or_id, "model")
            tags = tags_of(conn, TaggableResourceType.MODEL, [row.id])
        return self._model_response(row, tags.get(row.id, []))

    def list_models(self, filter_model: ModelFilter) -> Page[ModelResponse]:
        query = Query("SELECT models.* FROM models", "models")
        if filter_model.tag:
            query.add(tagged_with(query, "models.id", TaggableResourceType.MODEL, filter_model.tag))
        with self._read() as conn:
            page = self._page(conn, query, filter_model, lambda row: row)
            tags = tags_of(conn, TaggableResourceType.MODEL, [row.id for row in page.items])
        return self._repage(page, [self._model_response(r, tags.get(r.id, [])) for r in page])

    def get_model_version(
        self, model_name_or_id: str, version: str | int | None = None
    ) -> ModelVersionResponse:
        with self._read() as conn:
            if version is None:
                by_id = self._version_by_id(conn, str(model_name_or_id))
                if by_id is not None:
                    return self._model_versions(conn, [by_id])[0]
            model = self._find(conn, "models", model_name_or_id, "model")
            row = registry.find_version(conn, model.id, version)
            if row is None:
                raise EntityNotFoundError(registry.missing_version_message(model.name, version))
            return self._model_versions(conn, [row])[0]

    def _version_by_id(self, conn: Connection, key: str) -> Record | None:
        try:
            row = self._find(conn, "model_versions", key, "model version", by_name=False)
        except EntityNotFoundError:
            return None
        query = registry.version_query().equal("model_versions.id", row.id)
        return conn.one(query.sql(), query.params)

    def list_model_versions(self, filter_model: ModelVersionFilter) -> Page[ModelVersionResponse]:
        query = self._model_version_filter(registry.version_query(), filter_model)
        with self._read() as conn:
            if filter_model.model_name and filter_model.model_id is None:
                # Resolved first so a misspelt name is an error, not an empty page.
                self._find(conn, "models", filter_model.model_name, "model")
            page = self._page(conn, query, filter_model, lambda row: row)
            return self._repage(page, self._model_versions(conn, page.items))

    @staticmethod
    def _model_version_filter(query: Query, filter_model: ModelVersionFilter) -> Query:
        if filter_model.model_id:
            query.equal("model_versions.model_id", filter_model.model_id)
        if filter_model.model_name:
            query.equal("models.name", filter_model.model_name)
        if filter_model.stage is not None:
            if filter_model.stage is ModelStages.NONE:
                query.add("model_versions.stage IS NULL")
            else:
                query.equal("model_versions.stage", filter_model.stage.value)
        if filter_model.tag:
            query.add(
                tagged_with(
                    query, "model_versions.id", TaggableResourceType.MODEL_VERSION, filter_model.tag
                )
            )
        if filter_model.pipeline_run_id:
            query.add(
                "model_versions.id IN (SELECT model_version_id FROM model_version_runs "
                f"WHERE pipeline_run_id = {query.param(filter_model.pipeline_run_id)})"
            )
        if filter_model.artifact_version_id:
            query.add(
                "model_versions.id IN (SELECT model_version_id FROM model_version_artifacts "
                f"WHERE artifact_version_id = {query.param(filter_model.artifact_version_id)})"
            )
        return query

    def update_model_version(
        self, model_version_id: str, update: ModelVersionUpdate
    ) -> ModelVersionResponse:
        with self._write() as conn:
            row = self._version_by_id(conn, model_version_id)
            if row is None:
                raise EntityNotFoundError(f"No model version has the id {model_version_id!r}.")
            registry.apply_update(conn, row, update, _now())
        return self.get_model_version(row.id)

    def link_model_version(
        self,
        model_version_id: str,
        *,
        pipeline_run_ids: Sequence[str] = (),
        artifact_version_ids: Sequence[str] = (),
    ) -> None:
        with self._write() as conn:
            registry.link(
                conn, model_version_id, list(pipeline_run_ids), list(artifact_version_ids), _now()
            )

    @staticmethod
    def _repage(page: Page[Any], items: list[Any]) -> Page[Any]:
        return page.model_copy(update={"items": items})

    # -- tags ---------------------------------------------------------------------------
    def add_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        names = clean_tags(tags)
        with self._write() as conn:
            table = self._existing(conn, resource_type, resource_id)
            attach_tags(conn, resource_type, [resource_id], names, _now())
            if resource_type in TAG_COPIES:
                self._update_tag_copy(conn, table, resource_id, add=names)

    def remove_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        names = clean_tags(tags)
        with self._write() as conn:
            table = self._existing(conn, resource_type, resource_id)
            detach_tags(conn, resource_type, resource_id, names)
            if resource_type in TAG_COPIES:
                self._update_tag_copy(conn, table, resource_id, remove=names)

    def list_tags(self) -> list[TagResponse]:
        with self._read() as conn:
            rows = tag_counts(conn)
        return [
            TagResponse(id=tag_id, name=name, created=created, count=count).attach(self._context)
            for tag_id, name, created, count in rows
        ]

    @staticmethod
    def _existing(conn: Connection, resource_type: TaggableResourceType, resource_id: str) -> str:
        table = TAGGABLE_TABLES[resource_type]
        if conn.first(f"SELECT id FROM {table} WHERE id = :_id", {"_id": resource_id}) is None:
            kind = _RESOURCE_NAMES[resource_type]
            raise EntityNotFoundError(f"No {kind} has the id {resource_id!r}.")
        return table

    @staticmethod
    def _update_tag_copy(
        conn: Connection,
        table: str,
        resource_id: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> None:
        """Keep the JSON read copy of a run's or artifact version's tags in step."""
        current = conn.scalar(
            f"SELECT tags FROM {table} WHERE id = :_id" + conn.for_update, {"_id": resource_id}
        )
        tags = [tag for tag in [*(current or []), *add] if tag not in remove]
        conn.run(
            update_sql(table, ("tags",)), {"_id": resource_id, "tags": list(dict.fromkeys(tags))}
        )

    # -- metadata -----------------------------------------------------------------------
    def add_run_metadata(
        self,
        resource_type: MetadataResourceType,
        resource_id: str,
        metadata: Mapping[str, Any],
    ) -> None:
        if not metadata:
            return
        with self._write() as conn:
            if not merge_metadata(conn, resource_type, resource_id, metadata):
                kind = _RESOURCE_NAMES.get(resource_type, resource_type.value)
                raise EntityNotFoundError(f"No {kind} has the id {resource_id!r}.")


def filtered_by_tag(
    query: Query, filter_model: BaseFilter, column: str, resource_type: TaggableResourceType
) -> Query:
    """``query`` restricted to resources carrying the filter's ``tag`` (if it has one)."""
    tag = getattr(filter_model, "tag", None)
    return query if not tag else query.add(tagged_with(query, column, resource_type, tag))
