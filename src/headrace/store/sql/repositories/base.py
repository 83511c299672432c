"""What every SQL repository shares: the database, transactions, lookup by name or id
prefix, and paged, filtered lists, written once.

A repository holds the verbs of one aggregate (pipelines, runs, ...). Repositories share
one :class:`SqlContext` so that a store opens one pool of connections, and a verb that
touches two aggregates (a step completing creates artifact versions) runs in one
transaction by handing its connection to the other repository.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from headrace.exceptions import EntityNotFoundError
from headrace.models import Page, ResponseContext
from headrace.models.filters import BaseFilter
from headrace.store.sql.columns import columns
from headrace.store.sql.database import Connection, Database, Record
from headrace.store.sql.filtering import apply_filters
from headrace.store.sql.query import Query, select_all

M = TypeVar("M")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIX_RE = re.compile(r"^[0-9a-f-]{4,36}$")


def now() -> datetime:
    """The current time, timezone-aware UTC (what every ``created`` column holds)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh entity id."""
    return str(uuid.uuid4())


class SqlContext:
    """The database and response context every repository of one store shares."""

    def __init__(self, db: Database, response_context: ResponseContext) -> None:
        self.db = db
        self.sqlite = db.dialect == "sqlite"
        self.response_context = response_context

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; SQLite takes the write lock up front."""
        with self.db.write() as conn:
            yield conn

    @contextmanager
    def read(self, *, flush: bool = True) -> Iterator[Connection]:
        """One read transaction (``flush=False``: without committing deferred writes
        first, for a read none of them can change)."""
        with self.db.read(flush=flush) as conn:
            yield conn


def find_row(
    conn: Connection, table: str, name_or_id: str, kind: str, *, by_name: bool = True
) -> Record:
    """One row of ``table`` by exact id, exact name, or unique id prefix (4+ characters).

    Raises:
        EntityNotFoundError: nothing matches, or a prefix matches several rows.
    """
    key = str(name_or_id).strip()
    select = select_all(table)
    if UUID_RE.match(key):
        row = conn.first(f"{select} WHERE id = :key", {"key": key})
        if row is not None:
            return row
    if by_name and "name" in columns(table):
        row = conn.first(f"{select} WHERE name = :key", {"key": key})
        if row is not None:
            return row
    if _PREFIX_RE.match(key) and not UUID_RE.match(key):
        rows = conn.execute(f"{select} WHERE id LIKE :prefix LIMIT 3", {"prefix": f"{key}%"})
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise EntityNotFoundError(
                f"The id prefix {key!r} matches more than one {kind}; give more characters."
            )
    raise EntityNotFoundError(f"No {kind} has the name or id {key!r}.")


def page_of(
    conn: Connection,
    query: Query,
    filter_model: BaseFilter,
    to_model: Callable[[Record], M],
    fields: dict[str, str] | None = None,
) -> Page[M]:
    """One page of ``query``'s rows, narrowed by the filter's fields and sorted.

    ``fields`` maps filter fields to the SQL columns they compare (the main table's
    ``id``, ``name`` and ``created`` are always filterable); values may carry an
    operator prefix (``contains:``, ``gte:``, ``in:`` ...), see ``filtering.py``.
    """
    table = query.table
    mapped = {"id": f"{table}.id", "created": f"{table}.created"}
    if "name" in columns(table):
        mapped["name"] = f"{table}.name"
    mapped.update(fields or {})
    apply_filters(query, filter_model, mapped)
    if filter_model.created_after is not None:
        query.add(f"{table}.created > {query.param(filter_model.created_after)}")
    if filter_model.created_before is not None:
        query.add(f"{table}.created < {query.param(filter_model.created_before)}")
    total = int(conn.scalar(query.count_sql(), query.params))
    direction, _, field = filter_model.sort_by.partition(":")
    if not field:
        direction, field = "desc", direction
    # Ties (same creation time) are broken by id, so pages never overlap.
    order = f"{query.column(field)} {'DESC' if direction == 'desc' else 'ASC'}"
    if field != "id":
        order += f", {table}.id {'DESC' if direction == 'desc' else 'ASC'}"
    size = filter_model.size
    sql = query.sql(order, limit=size, offset=(filter_model.page - 1) * size)
    items = [to_model(row) for row in conn.execute(sql, query.params)]
    return Page[Any](
        index=filter_model.page,
        max_size=size,
        total_pages=max(1, -(-total // size)),
        total=total,
        items=items,
    )


def repage(page: Page[Any], items: Sequence[Any]) -> Page[Any]:
    """``page`` with other items (rows turned into responses after a batch read)."""
    return page.model_copy(update={"items": list(items)})


class Repository:
    """Base of the repositories: ``find`` and ``page`` for the aggregate's main table.

    Subclasses set ``table`` and ``kind`` (the name used in messages) and may set
    ``fields``: the filter fields beyond ``id``/``name``/``created`` and their columns.
    """

    table: str = ""
    kind: str = ""
    by_name: bool = True
    fields: dict[str, str] = {}

    def __init__(self, sql: SqlContext) -> None:
        self.sql = sql
        self.context = sql.response_context

    def find(self, conn: Connection, name_or_id: str) -> Record:
        """A row of the main table by name, id, or unique id prefix."""
        return find_row(conn, self.table, name_or_id, self.kind, by_name=self.by_name)

    def page(
        self,
        conn: Connection,
        query: Query,
        filter_model: BaseFilter,
        to_model: Callable[[Record], M],
    ) -> Page[M]:
        """A page of ``query`` filtered by ``filter_model`` (see :func:`page_of`)."""
        return page_of(conn, query, filter_model, to_model, self.fields)
