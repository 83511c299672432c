"""Run metadata in SQL: JSON values and their type names on the row they describe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, select, update

from headrace.enums import MetadataResourceType
from headrace.metadata.metadata_types import encode_metadata
from headrace.store.sql import schema as t

# Where each kind of resource keeps its metadata: table, values column, types column.
METADATA_COLUMNS: dict[MetadataResourceType, tuple[Table, str, str]] = {
    MetadataResourceType.PIPELINE_RUN: (t.pipeline_runs, "run_metadata", "run_metadata_types"),
    MetadataResourceType.STEP_RUN: (t.step_runs, "run_metadata", "run_metadata_types"),
    MetadataResourceType.ARTIFACT_VERSION: (t.artifact_versions, "metadata", "metadata_types"),
    MetadataResourceType.MODEL_VERSION: (
        t.model_versions,
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

    The row is read with ``FOR UPDATE`` (a no-op on SQLite, where the write transaction
    holds the database lock already) so two writers cannot lose each other's keys.

    Returns:
        Whether the resource exists.
    """
    table, values_column, types_column = METADATA_COLUMNS[resource_type]
    row = conn.execute(
        select(table.c[values_column], table.c[types_column])
        .where(table.c.id == resource_id)
        .with_for_update()
    ).first()
    if row is None:
        return False
    values, types = encode_metadata(metadata)
    conn.execute(
        update(table)
        .where(table.c.id == resource_id)
        .values(
            {
                values_column: {**(row[0] or {}), **values},
                types_column: {**(row[1] or {}), **types},
            }
        )
    )
    return True
