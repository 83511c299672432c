"""Tags in SQL: the ``tags`` and ``tag_resources`` tables, used by ``SqlStore``.

Functions take an open connection so the caller decides the transaction: tags written
with a run or an artifact version land in the same transaction as the entity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from headrace.enums import TaggableResourceType
from headrace.models.tag import clean_tags
from headrace.store.sql.database import Connection, in_list
from headrace.store.sql.query import Query, insert_sql

__all__ = [
    "attach_tags",
    "clean_tags",
    "detach_tags",
    "insert_ignoring_duplicates",
    "tag_counts",
    "tagged_with",
    "tags_of",
]


def insert_ignoring_duplicates(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose primary or unique key exists already.

    Two runs may link the same artifact or tag at once; the loser must not fail its
    whole transaction over a row that is there either way.
    """
    if not rows:
        return
    conn.run_many(insert_sql(table, tuple(rows[0]), ignore_duplicates=True), rows)


def _tag_ids(conn: Connection, names: Sequence[str], now: datetime) -> dict[str, str]:
    """Ids of the named tags, creating the missing ones."""
    params: dict[str, Any] = {}
    query = f"SELECT name, id FROM tags WHERE name IN {in_list('n', names, params)}"
    found: dict[str, str] = {row.name: row.id for row in conn.execute(query, params)}
    missing = [n for n in names if n not in found]
    if missing:
        insert_ignoring_duplicates(
            conn,
            "tags",
            [{"id": str(uuid.uuid4()), "name": n, "created": now} for n in missing],
        )
        found = {row.name: row.id for row in conn.execute(query, params)}
    return found


def attach_tags(
    conn: Connection,
    resource_type: TaggableResourceType,
    resource_ids: Sequence[str],
    names: Sequence[str],
    now: datetime,
) -> None:
    """Link each named tag to each resource (existing links are kept)."""
    if not names or not resource_ids:
        return
    ids = _tag_ids(conn, names, now)
    rows = [
        {
            "tag_id": ids[name],
            "resource_type": resource_type.value,
            "resource_id": resource_id,
            "created": now,
        }
        for resource_id in resource_ids
        for name in names
    ]
    insert_ignoring_duplicates(conn, "tag_resources", rows)


def detach_tags(
    conn: Connection,
    resource_type: TaggableResourceType,
    resource_id: str,
    names: Sequence[str],
) -> None:
    """Remove the links of the named tags from one resource (the tags themselves stay)."""
    if not names:
        return
    params: dict[str, Any] = {"type": resource_type.value, "resource": resource_id}
    conn.run(
        "DELETE FROM tag_resources WHERE resource_type = :type AND resource_id = :resource "
        f"AND tag_id IN (SELECT id FROM tags WHERE name IN {in_list('n', names, params)})",
        params,
    )


def tags_of(
    conn: Connection, resource_type: TaggableResourceType, resource_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Tag names of each resource, in the order they were attached."""
    if not resource_ids:
        return {}
    params: dict[str, Any] = {"type": resource_type.value}
    rows = conn.execute(
        "SELECT tag_resources.resource_id, tags.name FROM tag_resources "
        "JOIN tags ON tags.id = tag_resources.tag_id "
        "WHERE tag_resources.resource_type = :type "
        f"AND tag_resources.resource_id IN {in_list('r', list(resource_ids), params)} "
        "ORDER BY tag_resources.created, tags.name",
        params,
    )
    result: dict[str, list[str]] = {}
    for row in rows:
        result.setdefault(row.resource_id, []).append(row.name)
    return result


def tagged_with(query: Query, id_column: str, resource_type: TaggableResourceType, tag: str) -> str:
    """A WHERE clause: ``id_column`` names a resource of that type carrying ``tag``."""
    return (
        f"{id_column} IN (SELECT tag_resources.resource_id FROM tag_resources "
        "JOIN tags ON tags.id = tag_resources.tag_id "
        f"WHERE tags.name = {query.param(tag)} "
        f"AND tag_resources.resource_type = {query.param(resource_type.value)})"
    )


def tag_counts(conn: Connection) -> list[tuple[str, str, datetime, int]]:
    """Every tag with its id, creation time and number of links, by name."""
    rows = conn.execute(
        "SELECT tags.id, tags.name, tags.created, count(tag_resources.resource_id) AS links "
        "FROM tags LEFT OUTER JOIN tag_resources ON tag_resources.tag_id = tags.id "
        "GROUP BY tags.id, tags.name, tags.created ORDER BY tags.name"
    )
    return [(row.id, row.name, row.created, int(row.links)) for row in rows]
