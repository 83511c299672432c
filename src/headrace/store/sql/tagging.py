"""Tags in SQL: the ``tags`` and ``tag_resources`` tables, used by ``SqlStore``.

Functions take an open connection so the caller decides the transaction: tags written
with a run or an artifact version land in the same transaction as the entity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, func, select

from headrace.enums import TaggableResourceType
from headrace.models.tag import clean_tags
from headrace.store.sql import schema as t

__all__ = [
    "attach_tags",
    "clean_tags",
    "detach_tags",
    "insert_ignoring_duplicates",
    "tag_counts",
    "tagged_with",
    "tags_of",
]


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose primary or unique key exists already.

    Two runs may link the same artifact or tag at once; the loser must not fail its
    whole transaction over a row that is there either way.
    """
    if not rows:
        return
    # Imported here: the dialect modules cost tens of milliseconds at start-up.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects import sqlite

        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def _tag_ids(conn: Connection, names: Sequence[str], now: datetime) -> dict[str, str]:
    """Ids of the named tags, creating the missing ones."""
    query = select(t.tags.c.name, t.tags.c.id).where(t.tags.c.name.in_(names))
    found: dict[str, str] = {row.name: row.id for row in conn.execute(query)}
    missing = [n for n in names if n not in found]
    if missing:
        insert_ignoring_duplicates(
            conn,
            t.tags,
            [{"id": str(uuid.uuid4()), "name": n, "created": now} for n in missing],
        )
        found = {row.name: row.id for row in conn.execute(query)}
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
    insert_ignoring_duplicates(conn, t.tag_resources, rows)


def detach_tags(
    conn: Connection,
    resource_type: TaggableResourceType,
    resource_id: str,
    names: Sequence[str],
) -> None:
    """Remove the links of the named tags from one resource (the tags themselves stay)."""
    if not names:
        return
    tag_ids = select(t.tags.c.id).where(t.tags.c.name.in_(names))
    conn.execute(
        delete(t.tag_resources).where(
            t.tag_resources.c.resource_type == resource_type.value,
            t.tag_resources.c.resource_id == resource_id,
            t.tag_resources.c.tag_id.in_(tag_ids.scalar_subquery()),
        )
    )


def tags_of(
    conn: Connection, resource_type: TaggableResourceType, resource_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Tag names of each resource, in the order they were attached."""
    if not resource_ids:
        return {}
    links = t.tag_resources
    query = (
        select(links.c.resource_id, t.tags.c.name)
        .join(t.tags, t.tags.c.id == links.c.tag_id)
        .where(links.c.resource_type == resource_type.value)
        .where(links.c.resource_id.in_(list(resource_ids)))
        .order_by(links.c.created, t.tags.c.name)
    )
    result: dict[str, list[str]] = {}
    for row in conn.execute(query):
        result.setdefault(row.resource_id, []).append(row.name)
    return result


def tagged_with(
    id_column: Any, resource_type: TaggableResourceType, tag: str
) -> ColumnElement[bool]:
    """A WHERE clause: ``id_column`` names a resource of that type carrying ``tag``."""
    links = t.tag_resources
    tagged = (
        select(links.c.resource_id)
        .join(t.tags, t.tags.c.id == links.c.tag_id)
        .where(t.tags.c.name == tag, links.c.resource_type == resource_type.value)
    )
    return id_column.in_(tagged.scalar_subquery())


def tag_counts(conn: Connection) -> list[tuple[str, str, datetime, int]]:
    """Every tag with its id, creation time and number of links, by name."""
    count = func.count(t.tag_resources.c.resource_id)
    query = (
        select(t.tags.c.id, t.tags.c.name, t.tags.c.created, count.label("links"))
        .outerjoin(t.tag_resources, t.tag_resources.c.tag_id == t.tags.c.id)
        .group_by(t.tags.c.id, t.tags.c.name, t.tags.c.created)
        .order_by(t.tags.c.name)
    )
    return [(row.id, row.name, row.created, int(row.links)) for row in conn.execute(query)]
