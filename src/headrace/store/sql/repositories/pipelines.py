"""Pipelines: created on first run by name, read with their tags."""

from __future__ import annotations

from typing import cast

from headrace.enums import TaggableResourceType
from headrace.models import Page, PipelineFilter, PipelineResponse
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, select_all
from headrace.store.sql.repositories.base import Repository, new_id, now, repage
from headrace.store.sql.repositories.tags import filtered_by_tag
from headrace.store.sql.tagging import insert_ignoring_duplicates, tags_of


class PipelineRepository(Repository):
    """The ``pipelines`` table."""

    table = "pipelines"
    kind = "pipeline"

    def to_model(self, row: Record, tags: list[str] | None = None) -> PipelineResponse:
        """The response of one row."""
        return PipelineResponse(
            id=row.id, created=row.created, name=row.name, docstring=row.docstring, tags=tags or []
        ).attach(self.context)

    def _with_tags(self, conn: Connection, row: Record) -> PipelineResponse:
        tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id])
        return self.to_model(row, tags.get(row.id))

    def get_or_create(self, name: str, docstring: str | None = None) -> PipelineResponse:
        """The pipeline named ``name``, created if new (a concurrent creator wins)."""
        query, params = "SELECT * FROM pipelines WHERE name = :name", {"name": name}
        with self.sql.read() as conn:
            row = conn.first(query, params)
        if row is None:
            values = {"id": new_id(), "name": name, "created": now(), "docstring": docstring}
            with self.sql.write() as conn:
                insert_ignoring_duplicates(conn, "pipelines", [values])
            with self.sql.read() as conn:
                row = conn.one(query, params)
        return self.to_model(row)  # a new pipeline has no tags; launches skip the read

    def get(self, name_or_id: str) -> PipelineResponse:
        """A pipeline by name or id."""
        with self.sql.read() as conn:
            return self._with_tags(conn, self.find(conn, name_or_id))

    def list(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        """Pipelines matching the filter, with their tags."""
        query = filtered_by_tag(
            Query(select_all("pipelines"), "pipelines"),
            filter_model,
            "pipelines.id",
            TaggableResourceType.PIPELINE,
        )
        with self.sql.read() as conn:
            page = self.page(conn, query, filter_model, lambda row: row)
            tags = tags_of(conn, TaggableResourceType.PIPELINE, [row.id for row in page.items])
        items = [self.to_model(row, tags.get(row.id)) for row in page.items]
        return cast("Page[PipelineResponse]", repage(page, items))
