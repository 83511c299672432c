"""Models and their versions: lookup by number, name or stage, stages, links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headrace.enums import ModelStages, TaggableResourceType
from headrace.exceptions import EntityNotFoundError, StoreConflictError
from headrace.models import (
    ModelFilter,
    ModelResponse,
    ModelVersionFilter,
    ModelVersionRequest,
    ModelVersionResponse,
    ModelVersionUpdate,
    Page,
)
from headrace.store.sql import model_registry as registry
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query
from headrace.store.sql.repositories.base import Repository, find_row, now, repage
from headrace.store.sql.tagging import clean_tags, tagged_with, tags_of


class ModelRepository(Repository):
    """The ``models`` and ``model_versions`` tables."""

    table = "models"
    kind = "model"

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
        ).attach(self.context)

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
        ).attach(self.context)

    def _model_versions(self, conn: Connection, rows: Sequence[Record]) -> list[Any]:
        tags = tags_of(conn, TaggableResourceType.MODEL_VERSION, [row.id for row in rows])
        return [self._model_version_response(row, tags.get(row.id, [])) for row in rows]

    def resolve_model_version(self, request: ModelVersionRequest) -> ModelVersionResponse:
        request = request.model_copy(update={"tags": clean_tags(request.tags)})
        for attempt in range(3):
            try:
                with self.sql.write() as conn:
                    version_id = registry.resolve_version(conn, request, now())
                break
            except StoreConflictError as exc:
                # Another writer created the same named version first (PostgreSQL; SQLite
                # writers are serialised): the next attempt finds it.
                if attempt == 2 or not exc.unique:
                    raise
        return self.get_model_version(version_id)

    def get_model(self, name_or_id: str) -> ModelResponse:
        with self.sql.read() as conn:
            row = find_row(conn, "models", name_or_id, "model")
            tags = tags_of(conn, TaggableResourceType.MODEL, [row.id])
        return self._model_response(row, tags.get(row.id, []))

    def list_models(self, filter_model: ModelFilter) -> Page[ModelResponse]:
        query = Query("SELECT models.* FROM models", "models")
        if filter_model.tag:
            query.add(tagged_with(query, "models.id", TaggableResourceType.MODEL, filter_model.tag))
        with self.sql.read() as conn:
            page = self.page(conn, query, filter_model, lambda row: row)
            tags = tags_of(conn, TaggableResourceType.MODEL, [row.id for row in page.items])
        return repage(page, [self._model_response(r, tags.get(r.id, [])) for r in page])

    def get_model_version(
        self, model_name_or_id: str, version: str | int | None = None
    ) -> ModelVersionResponse:
        with self.sql.read() as conn:
            if version is None:
                by_id = self._version_by_id(conn, str(model_name_or_id))
                if by_id is not None:
                    return self._model_versions(conn, [by_id])[0]
            model = find_row(conn, "models", model_name_or_id, "model")
            row = registry.find_version(conn, model.id, version)
            if row is None:
                raise EntityNotFoundError(registry.missing_version_message(model.name, version))
            return self._model_versions(conn, [row])[0]

    def _version_by_id(self, conn: Connection, key: str) -> Record | None:
        try:
            row = find_row(conn, "model_versions", key, "model version", by_name=False)
        except EntityNotFoundError:
            return None
        query = registry.version_query().equal("model_versions.id", row.id)
        return conn.one(query.sql(), query.params)

    def list_model_versions(self, filter_model: ModelVersionFilter) -> Page[ModelVersionResponse]:
        query = self._model_version_filter(registry.version_query(), filter_model)
        with self.sql.read() as conn:
            if filter_model.model_name and filter_model.model_id is None:
                # Resolved first so a misspelt name is an error, not an empty page.
                find_row(conn, "models", filter_model.model_name, "model")
            page = self.page(conn, query, filter_model, lambda row: row)
            return repage(page, self._model_versions(conn, page.items))

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
        with self.sql.write() as conn:
            row = self._version_by_id(conn, model_version_id)
            if row is None:
                raise EntityNotFoundError(f"No model version has the id {model_version_id!r}.")
            registry.apply_update(conn, row, update, now())
        return self.get_model_version(row.id)

    def link_model_version(
        self,
        model_version_id: str,
        *,
        pipeline_run_ids: Sequence[str] = (),
        artifact_version_ids: Sequence[str] = (),
    ) -> None:
        with self.sql.write() as conn:
            registry.link(
                conn, model_version_id, list(pipeline_run_ids), list(artifact_version_ids), now()
            )
