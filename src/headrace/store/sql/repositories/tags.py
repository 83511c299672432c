"""Tags on pipelines, runs, artifacts and models, and run metadata on runs, step runs,
artifact versions and model versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headrace.enums import MetadataResourceType, TaggableResourceType
from headrace.exceptions import EntityNotFoundError
from headrace.models import TagResponse
from headrace.models.filters import BaseFilter
from headrace.store.sql.database import Connection
from headrace.store.sql.query import Query, update_sql
from headrace.store.sql.repositories.base import Repository, now
from headrace.store.sql.run_metadata import merge_metadata
from headrace.store.sql.tagging import (
    attach_tags,
    clean_tags,
    detach_tags,
    tag_counts,
    tagged_with,
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


class TagRepository(Repository):
    """The ``tags`` and ``tag_resources`` tables, and metadata merged into resources."""

    table = "tags"
    kind = "tag"

    # -- tags ---------------------------------------------------------------------------
    def add_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        names = clean_tags(tags)
        with self.sql.write() as conn:
            table = self._existing(conn, resource_type, resource_id)
            attach_tags(conn, resource_type, [resource_id], names, now())
            if resource_type in TAG_COPIES:
                self._update_tag_copy(conn, table, resource_id, add=names)

    def remove_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        names = clean_tags(tags)
        with self.sql.write() as conn:
            table = self._existing(conn, resource_type, resource_id)
            detach_tags(conn, resource_type, resource_id, names)
            if resource_type in TAG_COPIES:
                self._update_tag_copy(conn, table, resource_id, remove=names)

    def list_tags(self) -> list[TagResponse]:
        with self.sql.read() as conn:
            rows = tag_counts(conn)
        return [
            TagResponse(id=tag_id, name=name, created=created, count=count).attach(self.context)
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
        with self.sql.write() as conn:
            if not merge_metadata(conn, resource_type, resource_id, metadata):
                kind = _RESOURCE_NAMES.get(resource_type, resource_type.value)
                raise EntityNotFoundError(f"No {kind} has the id {resource_id!r}.")


def filtered_by_tag(
    query: Query, filter_model: BaseFilter, column: str, resource_type: TaggableResourceType
) -> Query:
    """``query`` restricted to resources carrying the filter's ``tag`` (if it has one)."""
    tag = getattr(filter_model, "tag", None)
    return query if not tag else query.add(tagged_with(query, column, resource_type, tag))
