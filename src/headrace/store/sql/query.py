"""SQL text for the store: ``INSERT``/``UPDATE`` statements from column names, and
``SELECT`` queries that filters extend one clause at a time.

Every value travels as a bound parameter; only column and table names from
``columns.py`` and clauses written in this package are put into the SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from headrace.exceptions import InvalidFilterError
from headrace.store.sql.columns import columns


@lru_cache(maxsize=256)
def insert_sql(table: str, keys: tuple[str, ...], *, ignore_duplicates: bool = False) -> str:
    """``INSERT INTO table (keys) VALUES (:keys)``, optionally skipping rows whose
    primary or unique key exists already (both SQLite and PostgreSQL spell it alike)."""
    sql = f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join(':' + k for k in keys)})"
    return sql + " ON CONFLICT DO NOTHING" if ignore_duplicates else sql


@lru_cache(maxsize=256)
def update_sql(table: str, keys: tuple[str, ...], where: str = "id = :_id") -> str:
    """``UPDATE table SET key = :key, ... WHERE where``."""
    assignments = ", ".join(f"{k} = :{k}" for k in keys)
    return f"UPDATE {table} SET {assignments} WHERE {where}"


def select_all(table: str) -> str:
    """``SELECT table.* FROM table``."""
    return f"SELECT {table}.* FROM {table}"


@dataclass
class Query:
    """A ``SELECT`` over ``table`` (possibly joined) that filters narrow step by step.

    Args:
        select: the ``SELECT ... FROM ... [JOIN ...]`` part.
        table: the main table; names, creation times and sort fields refer to it.
    """

    select: str
    table: str
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        """A fresh placeholder bound to ``value``."""
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def values(self, items: Iterable[Any]) -> str:
        """``(:q1, :q2, ...)`` for an ``IN`` clause."""
        return "(" + ", ".join(self.param(item) for item in items) + ")"

    def add(self, clause: str) -> Query:
        """Keep only rows matching ``clause`` (placeholders made with :meth:`param`)."""
        self.where.append(clause)
        return self

    def equal(self, column: str, value: Any) -> Query:
        """Keep rows whose ``column`` equals ``value``."""
        return self.add(f"{column} = {self.param(value)}")

    def column(self, name: str) -> str:
        """A column of the main table, qualified; a clear error for an unknown one."""
        if name not in columns(self.table):
            raise InvalidFilterError(
                f"Cannot sort by {name!r}; sortable fields: {', '.join(columns(self.table))}."
            )
        return f"{self.table}.{name}"

    def sql(self, order_by: str = "", limit: int | None = None, offset: int = 0) -> str:
        """The statement, with ``ORDER BY``, ``LIMIT`` and ``OFFSET`` as given."""
        sql = self.select
        if self.where:
            sql += " WHERE " + " AND ".join(f"({clause})" for clause in self.where)
        if order_by:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        return sql

    def count_sql(self) -> str:
        """How many rows the query matches."""
        return f"SELECT count(*) AS total FROM ({self.sql()}) AS matched"
