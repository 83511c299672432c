"""Run metadata in SQL: JSON values and their type names on the row they describe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.enums import MetadataResourceType
from headrace.metadata.metadata_types import encode_metadata
from headrace.store.sql.database import Connection
from headrace.store.sql.query import update_sql

# Where each kind of resource keeps its metadata: table, values column, types column.
METADATA_COLUMNS: dict[MetadataResourceType, tuple[str, str, str]] = {
    MetadataResourceType.PIPELINE_RUN: ("pipeline_runs", "run_metadata", "run_metadata_types"),
    MetadataResourceType.STEP_RUN: ("step_runs", "run_metadata", "run_metadata_types"),
    MetadataResourceType.ARTIFACT_VERSION: ("artifact_versions", "metadata", "metadata_types"),
    MetadataResourceType.MODEL_VERSION: (
        "model_versions",
        "run_metadata",
        "run_metadata_types",
    ),
}


def merge_metadata(
    conn: Connection,
    resource_type: MetadataResourceType,
    resource_id: str,
    metadata: Mapping[str, Any],
) -> bool:
    """Add ``metadata`` to what the resource has (a key logged again is replaced).

    The row is read with ``FOR UPDATE`` on PostgreSQL (on SQLite the write transaction
    holds the database lock already) so two writers cannot lose each other's keys.

    Returns:
        Whether the resource exists.
    """
    table, values_column, types_column = METADATA_COLUMNS[resource_type]
    row = conn.first(
        f"SELECT {values_column}, {types_column} FROM {table} WHERE id = :_id" + conn.for_update,
        {"_id": resource_id},
    )
    if row is None:
        return False
    values, types = encode_metadata(metadata)
    conn.run(
        update_sql(table, (values_column, types_column)),
        {
            "_id": resource_id,
            values_column: {**(row[values_column] or {}), **values},
            types_column: {**(row[types_column] or {}), **types},
        },
    )
    return True
