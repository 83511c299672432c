"""Artifacts and their immutable, numbered (or named) versions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

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
from headrace.store.sql.database import Connection, Record, in_list
from headrace.store.sql.query import Query, insert_sql
from headrace.store.sql.repositories.base import Repository, find_row, now
from headrace.store.sql.tagging import attach_tags, clean_tags, tagged_with, tags_of
from headrace.utils.ids import random_id

# The order of the values ``insert_versions`` binds.
_VERSION_COLUMNS = (
    "id",
    "artifact_id",
    "version",
    "version_number",
    "uri",
    "materializer",
    "data_type",
    "content_hash",
    "size",
    "python_version",
    "type",
    "artifact_store_id",
    "producer_step_run_id",
    "metadata",
    "tags",
    "created",
    "metadata_types",
    "visualizations",
    "inline_content",
)
_INSERT_VERSION = insert_sql("artifact_versions", _VERSION_COLUMNS)
_ARTIFACT_COLUMNS = ("id", "name", "has_custom_name", "version_count", "created")
_INSERT_ARTIFACT = insert_sql("artifacts", _ARTIFACT_COLUMNS)
_INSERT_ARTIFACT_IF_NEW = insert_sql("artifacts", _ARTIFACT_COLUMNS, ignore_duplicates=True)
_GROW_COUNT = "UPDATE artifacts SET version_count = version_count + :n WHERE id = :_id"
_IN_CHUNK = 500  # values bound in one IN (...) list, well under every driver's limit
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
                self.insert_versions(conn, [NewVersion(request, None, now())], new_artifacts)
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

    def insert_versions(
        self,
        conn: Connection,
        versions: Sequence[NewVersion],
        new_artifacts: dict[str, str],
    ) -> None:
        """Insert versions (and their artifacts if new) in the caller's transaction, in a
        few statements whatever their number: one lookup of the unknown artifact names,
        one insert of the new artifacts, one count update of the others, one insert of
        the versions. Numbers are assigned in the order given. ``new_artifacts`` gets the
        artifact ids learned, for ``remember`` once the transaction committed.
        """
        if not versions:
            return
        for version in versions:
            explicit = version.request.version
            if explicit is not None and explicit.isdigit():
                raise StoreError(
                    f"Artifact version name {explicit!r} is a number; numbers are assigned "
                    "automatically, use a name such as 'v1'."
                )
        ids, counted = self._artifact_ids_of(conn, versions, new_artifacts)
        numbers = _numbers(conn, versions, ids, counted)
        rows = []
        tagged = []
        for version, number in zip(versions, numbers, strict=True):
            req = version.request
            metadata, metadata_types = encode_metadata(req.metadata) if req.metadata else ({}, {})
            tags = clean_tags(req.tags) if req.tags else []
            if tags:
                tagged.append((req.id, tags, version.at))
            rows.append(
                (
                    req.id,
                    ids[req.artifact_name],
                    str(number) if number is not None else req.version,
                    number,
                    req.uri,
                    req.materializer,
                    req.data_type,
                    req.content_hash,
                    req.size,
                    req.python_version,
                    req.type.value,
                    req.artifact_store_id,
                    version.producer_step_run_id,
                    metadata,
                    tags,
                    version.at,
                    metadata_types,
                    [v.model_dump(mode="json") for v in req.visualizations] or None,
                    req.inline_content,
                )
            )
        conn.run_rows(_INSERT_VERSION, rows)
        for version_id, tags, at in tagged:
            attach_tags(conn, TaggableResourceType.ARTIFACT_VERSION, [version_id], tags, at)

    def _artifact_ids_of(
        self, conn: Connection, versions: Sequence[NewVersion], new_artifacts: dict[str, str]
    ) -> tuple[dict[str, str], set[str]]:
        """The artifact id of every name in ``versions``: remembered, found by one lookup,
        or new (inserted here); and the names of the new artifacts inserted with their
        version count already set (on SQLite, see ``_numbers``)."""
        ids: dict[str, str] = {}
        first_of: dict[str, NewVersion] = {}
        for version in versions:
            name = version.request.artifact_name
            if name in ids or name in first_of:
                continue
            known = self._artifact_ids.get(name) or new_artifacts.get(name)
            if known is not None:
                ids[name] = known
            else:
                first_of[name] = version
        if not first_of:
            return ids, set()
        found = _ids_by_name(conn, list(first_of))
        ids.update(found)
        new_artifacts.update(found)
        created = [name for name in first_of if name not in found]
        if not created:
            return ids, set()
        counts = _auto_numbered(versions) if self.sql.sqlite else {}
        rows = []
        for name in created:
            artifact_id = random_id()
            first = first_of[name]
            rows.append(
                (
                    artifact_id,
                    name,
                    first.request.has_custom_name,
                    counts.get(name, 0),
                    first.at,
                )
            )
            ids[name] = artifact_id
        if self.sql.sqlite:  # BEGIN IMMEDIATE already serialises writers
            conn.run_rows(_INSERT_ARTIFACT, rows)
            counted = set(created)
        else:  # concurrent transactions may create the same artifact: first one wins
            conn.run_rows(_INSERT_ARTIFACT_IF_NEW, rows)
            ids.update(_ids_by_name(conn, created))
            counted = set()
        new_artifacts.update({name: ids[name] for name in created})
        return ids, counted


class NewVersion(NamedTuple):
    """A version to insert: the request, the step run that produced it, its time."""

    request: ArtifactVersionRequest
    producer_step_run_id: str | None
    at: datetime


def _numbers(
    conn: Connection,
    versions: Sequence[NewVersion],
    ids: dict[str, str],
    counted: set[str],
) -> list[int | None]:
    """The number of each version (``None`` for an explicitly named one).

    Artifacts inserted with their count set (``counted``) need nothing more; the others
    get one count update for all (``+ n`` each) and one read of the new counts, so
    numbers stay unique whatever other processes numbered meanwhile.
    """
    counts = _auto_numbered(versions)
    grown = {ids[name]: n for name, n in counts.items() if name not in counted}
    found: dict[str, int] = {}
    if grown:
        conn.run_rows(_GROW_COUNT, [(n, artifact_id) for artifact_id, n in grown.items()])
        found = _counts_by_id(conn, list(grown))
        for artifact_id in grown:
            if artifact_id not in found:
                raise EntityNotFoundError(f"No artifact has the id {artifact_id!r}.")
    # Each artifact's versions of this batch take its last ``n`` numbers, in order.
    next_number = {
        name: (n if name in counted else found[ids[name]]) - n + 1 for name, n in counts.items()
    }
    numbers: list[int | None] = []
    for version in versions:
        if version.request.version is not None:
            numbers.append(None)
            continue
        name = version.request.artifact_name
        numbers.append(next_number[name])
        next_number[name] += 1
    return numbers


def _auto_numbered(versions: Sequence[NewVersion]) -> dict[str, int]:
    """How many versions of each artifact name take the next number."""
    counts: dict[str, int] = {}
    for version in versions:
        if version.request.version is None:
            name = version.request.artifact_name
            counts[name] = counts.get(name, 0) + 1
    return counts


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _ids_by_name(conn: Connection, names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(names):
        params: dict[str, Any] = {}
        sql = f"SELECT id, name FROM artifacts WHERE name IN {in_list('n', chunk, params)}"
        found.update((row.name, str(row.id)) for row in conn.execute(sql, params))
    return found


def _counts_by_id(conn: Connection, artifact_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(artifact_ids):
        params: dict[str, Any] = {}
        sql = f"SELECT id, version_count FROM artifacts WHERE id IN {in_list('a', chunk, params)}"
        found.update((str(row.id), int(row.version_count)) for row in conn.execute(sql, params))
    return found


def _inline(value: Any) -> bytes | None:
    """A binary column as ``bytes`` (drivers may hand out a ``memoryview``)."""
    return None if value is None else bytes(value)
