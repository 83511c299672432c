"""Artifacts and their immutable, numbered (or named) versions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from headrace.enums import TaggableResourceType
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
    ArtifactVersionRequest,
    ArtifactVersionResponse,
    Page,
)
from headrace.store.sql.columns import columns
from headrace.store.sql.database import Connection, Record, in_list
from headrace.store.sql.query import Query, insert_sql
from headrace.store.sql.repositories.base import Repository, find_row, new_id, now
from headrace.store.sql.tagging import attach_tags, clean_tags, tagged_with, tags_of

_INSERT_VERSION = insert_sql("artifact_versions", columns("artifact_versions"))
_ARTIFACT_COLUMNS = ("id", "name", "has_custom_name", "version_count", "created")
_INSERT_ARTIFACT = insert_sql("artifacts", _ARTIFACT_COLUMNS)
_INSERT_ARTIFACT_IF_NEW = insert_sql("artifacts", _ARTIFACT_COLUMNS, ignore_duplicates=True)
_SELECT_ARTIFACT_ID = "SELECT id FROM artifacts WHERE name = :name"
_NEXT_VERSION = (
    "UPDATE artifacts SET version_count = version_count + 1 WHERE id = :_id RETURNING version_count"
)
VERSION_SELECT = (
    "SELECT artifact_versions.*, artifacts.name AS artifact_name FROM artifact_versions "
    "JOIN artifacts ON artifacts.id = artifact_versions.artifact_id"
)


class ArtifactRepository(Repository):
    """The ``artifacts`` and ``artifact_versions`` tables."""

    table = "artifact_versions"
    kind = "artifact version"
    by_name = False
    fields = {
        "artifact_id": "artifact_versions.artifact_id",
        "artifact_name": "artifacts.name",
        "name": "artifacts.name",
        "producer_step_run_id": "artifact_versions.producer_step_run_id",
        "version": "artifact_versions.version",
        "uri": "artifact_versions.uri",
        "materializer": "artifact_versions.materializer",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Artifact ids by name, learned from committed writes: the per-step path skips
        # the lookup for outputs it saw before.
        self._artifact_ids: dict[str, str] = {}

    # -- responses ----------------------------------------------------------------------
    def version_model(self, row: Record) -> ArtifactVersionResponse:
        """The response of one version row joined with its artifact's name."""
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
            inline_content=_inline(row.inline_content),
        ).attach(self.context)

    def artifact_model(self, row: Record, tags: list[str] | None = None) -> ArtifactResponse:
        """The response of one artifact row."""
        return ArtifactResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            has_custom_name=row.has_custom_name,
            latest_version_number=row.version_count,
            tags=tags or [],
        ).attach(self.context)

    # -- reads --------------------------------------------------------------------------
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        """A named artifact by name or id."""
        with self.sql.read() as conn:
            row = find_row(conn, "artifacts", name_or_id, "artifact")
            tags = tags_of(conn, TaggableResourceType.ARTIFACT, [row.id])
        return self.artifact_model(row, tags.get(row.id))

    def get_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        """A version by id, or by artifact name and version (the latest if omitted)."""
        with self.sql.read() as conn:
            if version is None:
                try:
                    row = self.find(conn, name_or_id)
                    return self.version_model(
                        conn.one(
                            f"{VERSION_SELECT} WHERE artifact_versions.id = :_id", {"_id": row.id}
                        )
                    )
                except EntityNotFoundError:
                    pass
            artifact = find_row(conn, "artifacts", name_or_id, "artifact")
            query = Query(VERSION_SELECT, "artifact_versions")
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
            return self.version_model(found)

    def get_versions(self, ids: Sequence[str]) -> dict[str, ArtifactVersionResponse]:
        """Several versions by exact id in one query; missing ids are left out."""
        if not ids:
            return {}
        params: dict[str, Any] = {}
        sql = f"{VERSION_SELECT} WHERE artifact_versions.id IN {in_list('v', list(ids), params)}"
        with self.sql.read() as conn:
            rows = conn.execute(sql, params)
        return {row.id: self.version_model(row) for row in rows}

    def list_versions(self, filter_model: ArtifactVersionFilter) -> Page[ArtifactVersionResponse]:
        """Versions matching the filter (``name`` is the artifact's name)."""
        query = Query(VERSION_SELECT, "artifact_versions")
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
        with self.sql.read() as conn:
            return self.page(conn, query, filter_model, self.version_model)

    # -- writes -------------------------------------------------------------------------
    def create_version(self, request: ArtifactVersionRequest) -> ArtifactVersionResponse:
        """Record a version saved outside a step."""
        new_artifacts: dict[str, str] = {}
        try:
            with self.sql.write() as conn:
                self.insert_version(conn, request, None, new_artifacts, now())
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"Artifact {request.artifact_name!r} already has a version {request.version!r}; "
                "versions are immutable, pick a new version name."
            ) from exc
        self.remember(new_artifacts)
        return self.get_version(request.id)

    def remember(self, new_artifacts: dict[str, str]) -> None:
        """Keep artifact ids learned in a transaction, once it committed."""
        self._artifact_ids.update(new_artifacts)

    def insert_version(
        self,
        conn: Connection,
        req: ArtifactVersionRequest,
        producer_step_run_id: str | None,
        new_artifacts: dict[str, str],
        at: datetime,
    ) -> None:
        """Insert one version (and its artifact if new) in the caller's transaction."""
        artifact_id = self._artifact_id(conn, req, new_artifacts, at)
        version, number = self._next_version(conn, artifact_id, req.version)
        metadata, metadata_types = encode_metadata(req.metadata)
        tags = clean_tags(req.tags) if req.tags else []
        conn.run(
            _INSERT_VERSION,
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
                "inline_content": req.inline_content,
                "tags": tags,
                "created": at,
            },
        )
        if tags:
            attach_tags(conn, TaggableResourceType.ARTIFACT_VERSION, [req.id], tags, at)

    def _artifact_id(
        self,
        conn: Connection,
        req: ArtifactVersionRequest,
        new_artifacts: dict[str, str],
        at: datetime,
    ) -> str:
        name = req.artifact_name
        known = self._artifact_ids.get(name) or new_artifacts.get(name)
        if known is not None:
            return known
        found = conn.scalar(_SELECT_ARTIFACT_ID, {"name": name})
        if found is not None:
            new_artifacts[name] = str(found)
            return str(found)
        artifact_id = new_id()
        values = {
            "id": artifact_id,
            "name": name,
            "has_custom_name": req.has_custom_name,
            "version_count": 0,
            "created": at,
        }
        if self.sql.sqlite:  # BEGIN IMMEDIATE already serialises writers
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


def _inline(value: Any) -> bytes | None:
    """A binary column as ``bytes`` (drivers may hand out a ``memoryview``)."""
    return None if value is None else bytes(value)
