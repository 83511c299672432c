"""Models and model versions in SQL: lookup by number, name or stage, creation, stages.

Functions take an open connection so that resolving a run's model version, linking the
run and tagging the version happen in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from headrace.enums import ModelStages, TaggableResourceType
from headrace.exceptions import EntityNotFoundError, StoreError
from headrace.models import ModelVersionRequest, ModelVersionUpdate
from headrace.store.sql.database import Connection, Record
from headrace.store.sql.query import Query, insert_sql, update_sql
from headrace.store.sql.tagging import attach_tags, insert_ignoring_duplicates

_STAGES = frozenset(stage.value for stage in ModelStages)
# Stages at most one version of a model holds at a time.
EXCLUSIVE_STAGES = frozenset({ModelStages.STAGING, ModelStages.PRODUCTION})

_NEXT_NUMBER = (
    "UPDATE models SET version_count = version_count + 1 WHERE id = :_id RETURNING version_count"
)


def version_query() -> Query:
    """Model versions with their model's name."""
    return Query(
        "SELECT model_versions.*, models.name AS model_name FROM model_versions "
        "JOIN models ON models.id = model_versions.model_id",
        "model_versions",
    )


def is_number(version: str | int) -> bool:
    """Whether ``version`` names a version by number."""
    return isinstance(version, int) or str(version).isdigit()


def is_stage(version: str | int) -> bool:
    """Whether ``version`` names a stage (``latest``, ``production``, ...)."""
    return isinstance(version, str) and version.lower() in _STAGES


def find_version(conn: Connection, model_id: str, version: str | int | None) -> Record | None:
    """A version of a model by number, stage (the newest in it), name or id."""
    query = version_query().equal("model_versions.model_id", model_id)
    order = ""
    if version is None or (is_stage(version) and str(version).lower() == ModelStages.LATEST):
        order = "model_versions.number DESC"
    elif is_number(version):
        query.equal("model_versions.number", int(version))
    elif is_stage(version):
        stage = str(version).lower()
        if stage == ModelStages.NONE:
            query.add("model_versions.stage IS NULL")
        else:
            query.equal("model_versions.stage", stage)
        order = "model_versions.number DESC"
    else:
        by_name = version_query().equal("model_versions.model_id", model_id)
        by_name.equal("model_versions.name", str(version))
        found = conn.first(by_name.sql(limit=1), by_name.params)
        if found is not None:
            return found
        query.equal("model_versions.id", str(version))
    return conn.first(query.sql(order, limit=1), query.params)


def missing_version_message(model_name: str, version: str | int | None) -> str:
    """Why a version lookup found nothing, and what to do about it."""
    if version is None or str(version).lower() == ModelStages.LATEST:
        return f"Model {model_name!r} has no versions yet."
    if is_stage(version):
        stage = str(version).lower()
        return (
            f"Model {model_name!r} has no version in stage {stage!r}; promote one first, "
            f"e.g. `headrace model version update {model_name} VERSION --stage {stage}`."
        )
    if is_number(version):
        return f"Model {model_name!r} has no version number {int(version)}."
    return f"Model {model_name!r} has no version {str(version)!r}."


def get_or_create_model(conn: Connection, request: ModelVersionRequest, now: datetime) -> Record:
    """The model of ``request.model_name``, created (with its description) if missing."""
    query = "SELECT * FROM models WHERE name = :name"
    params = {"name": request.model_name}
    row = conn.first(query, params)
    if row is not None:
        return row
    insert_ignoring_duplicates(
        conn,
        "models",
        [
            {
                "id": str(uuid.uuid4()),
                "name": request.model_name,
                "created": now,
                "description": request.description,
                "license": request.license,
                "audience": request.audience,
                "use_cases": request.use_cases,
                "limitations": request.limitations,
                "trade_offs": request.trade_offs,
                "ethics": request.ethics,
                "version_count": 0,
            }
        ],
    )
    return conn.one(query, params)


def _version_by_id(conn: Connection, version_id: str) -> Record:
    query = version_query().equal("model_versions.id", version_id)
    return conn.one(query.sql(), query.params)


def _create_version(
    conn: Connection, model_id: str, name: str | None, description: str | None, now: datetime
) -> Record:
    number = int(conn.scalar(_NEXT_NUMBER, {"_id": model_id}))
    version_id = str(uuid.uuid4())
    values = {
        "id": version_id,
        "model_id": model_id,
        "name": name if name is not None else str(number),
        "number": number,
        "stage": None,
        "description": description,
        "created": now,
        "updated": now,
        "run_metadata": None,
        "run_metadata_types": None,
    }
    conn.run(insert_sql("model_versions", tuple(values)), values)
    return _version_by_id(conn, version_id)


def resolve_version(conn: Connection, request: ModelVersionRequest, now: datetime) -> str:
    """The id of the version ``request`` names, creating model and version as needed;
    links the run and tags model and version.

    Raises:
        EntityNotFoundError: a number or stage was asked for that no version has.
    """
    model = get_or_create_model(conn, request, now)
    version = request.version
    row = None if version is None else find_version(conn, model.id, version)
    if row is None:
        if version is not None and (is_number(version) or is_stage(version)):
            raise EntityNotFoundError(missing_version_message(model.name, version))
        name = None if version is None else str(version)
        row = _create_version(conn, model.id, name, request.description, now)
    if request.tags:
        attach_tags(conn, TaggableResourceType.MODEL, [model.id], request.tags, now)
        attach_tags(conn, TaggableResourceType.MODEL_VERSION, [row.id], request.tags, now)
    if request.pipeline_run_id is not None:
        link(conn, row.id, [request.pipeline_run_id], (), now)
        if request.run_model:
            conn.run(
                update_sql("pipeline_runs", ("model_version_id",)),
                {"_id": request.pipeline_run_id, "model_version_id": row.id},
            )
    return str(row.id)


def link(
    conn: Connection,
    model_version_id: str,
    pipeline_run_ids: Sequence[str],
    artifact_version_ids: Sequence[str],
    now: datetime,
) -> None:
    """Link runs and artifact versions to a model version (existing links are kept)."""
    insert_ignoring_duplicates(
        conn,
        "model_version_runs",
        [
            {"model_version_id": model_version_id, "pipeline_run_id": run_id, "created": now}
            for run_id in pipeline_run_ids
        ],
    )
    insert_ignoring_duplicates(
        conn,
        "model_version_artifacts",
        [
            {"model_version_id": model_version_id, "artifact_version_id": av, "created": now}
            for av in artifact_version_ids
        ],
    )


def apply_update(
    conn: Connection, version: Record, update_model: ModelVersionUpdate, now: datetime
) -> None:
    """Change a version's stage, name or description.

    Putting a version in ``staging`` or ``production`` while another version holds that
    stage is refused unless ``force`` is set; with ``force`` the holder is archived.

    Raises:
        StoreError: the stage is taken (without ``force``), the stage is ``latest``, or
            the new name is a number, a stage or taken.
    """
    values: dict[str, Any] = {"updated": now}
    if update_model.stage is not None:
        values["stage"] = _new_stage(conn, version, update_model, now)
    if update_model.name is not None and update_model.name != version.name:
        values["name"] = _new_name(conn, version, update_model.name)
    if update_model.description is not None:
        values["description"] = update_model.description
    conn.run(update_sql("model_versions", tuple(values)), {**values, "_id": version.id})


def _new_stage(
    conn: Connection, version: Record, update_model: ModelVersionUpdate, now: datetime
) -> str | None:
    stage = update_model.stage
    if stage is ModelStages.LATEST:
        raise StoreError(
            "'latest' is not a stage a version can be put in: it always means the newest "
            "version. Use staging, production, archived or none."
        )
    if stage is ModelStages.NONE:
        return None
    assert stage is not None
    if stage in EXCLUSIVE_STAGES:
        holder = conn.first(
            "SELECT id, name FROM model_versions "
            "WHERE model_id = :model AND stage = :stage AND id != :me",
            {"model": version.model_id, "stage": stage.value, "me": version.id},
        )
        if holder is not None:
            if not update_model.force:
                raise StoreError(
                    f"Model {version.model_name!r}: version {holder.name!r} is in stage "
                    f"{stage.value!r} already. Pass force=True (CLI: --force) to move "
                    f"{stage.value!r} to version {version.name!r}; version {holder.name!r} "
                    "is then archived."
                )
            conn.run(
                update_sql("model_versions", ("stage", "updated")),
                {"_id": holder.id, "stage": ModelStages.ARCHIVED.value, "updated": now},
            )
    return stage.value


def _new_name(conn: Connection, version: Record, name: str) -> str:
    if is_number(name) or is_stage(name):
        raise StoreError(
            f"Model version name {name!r} is a number or a stage; numbers are assigned "
            "automatically and stages are set with stage=..., pick a name such as 'v2'."
        )
    taken = conn.first(
        "SELECT id FROM model_versions WHERE model_id = :model AND name = :name",
        {"model": version.model_id, "name": name},
    )
    if taken is not None:
        raise StoreError(f"Model {version.model_name!r} already has a version named {name!r}.")
    return name
