"""Connections to the store's database: SQLite through the standard library, PostgreSQL
through psycopg, one small interface for both.

Why not SQLAlchemy here: importing it costs about a third of a second, more than the
rest of a 10-step ``python run.py`` together, and the store's statements are few and
fixed. ``SqlStore`` writes portable SQL with ``:name`` parameters; this module turns it
into each driver's dialect, encodes parameters (JSON, timestamps, enums) the way the
tables were defined in ``schema.py`` (which Alembic still uses for migrations), and
decodes rows back. Timestamps are stored as naive UTC, as SQLAlchemy's ``DateTime``
stored them, so databases written by earlier versions read the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from headrace.exceptions import StoreConflictError, StoreError
from headrace.store.sql.columns import BOOLEAN_COLUMNS, DATETIME_COLUMNS, JSON_COLUMNS
from headrace.utils.env import ENV_SQLITE_SYNCHRONOUS

if TYPE_CHECKING:
    from headrace.store.sql.write_behind import WriteBehind

SQLITE_BUSY_TIMEOUT_S = 60.0
_IDLE_CONNECTIONS = 8  # kept open per database for the next statement
_PLAIN_TYPES = frozenset({str, int, float, bool, bytes})  # exact types: enums are not plain
_EMPTY_JSON: dict[type, str] = {dict: "{}", list: "[]"}
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # a ``:name`` placeholder


class Record:
    """A result row: its columns as attributes (``row.id``) and items (``row["id"]``)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return f"Record({self._values!r})"

    def as_dict(self) -> dict[str, Any]:
        """The row's columns and values (a copy)."""
        return dict(self._values)


_HINTS = (
    ("full", " (the disk holding the store is full: free space, then run again)"),
    ("readonly", " (the store is read-only: check its file and directory permissions)"),
    ("read-only", " (the store is read-only: check its file and directory permissions)"),
    ("disk i/o", " (the disk holding the store failed a read or write)"),
)


def _hint(message: str) -> str:
    """What to do about the usual driver errors of a failing disk."""
    lowered = message.lower()
    return next((hint for key, hint in _HINTS if key in lowered), "")


def redacted_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def is_sqlite(url: str) -> bool:
    """Whether the URL names a SQLite database."""
    return url.startswith("sqlite")


def sqlite_path(url: str) -> str | None:
    """The file path of a ``sqlite:///path`` URL (``None`` for an in-memory database)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return os.path.expanduser(path) if path and path != ":memory:" else None


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Connection:
    """One driver connection inside one transaction (or autocommitted reads)."""

    def __init__(self, database: Database, raw: Any) -> None:
        self._database = database
        self.raw = raw

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._database.dialect

    @property
    def for_update(self) -> str:
        """What to append to a ``SELECT`` that must lock its rows (empty on SQLite)."""
        return self._database.for_update

    def _cursor(self, sql: str, params: Mapping[str, Any] | None) -> Any:
        database = self._database
        cursor = self.raw.cursor()
        try:
            cursor.execute(database.prepare(sql), database.encode(params or {}))
        except database.driver_errors as exc:
            cursor.close()
            raise database.store_error(exc, sql) from exc
        return cursor

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Record]:
        """Run a statement; its rows, decoded (empty for statements without rows)."""
        cursor = self._cursor(sql, params)
        try:
            if cursor.description is None:
                return []
            return self._database.decode(cursor.description, cursor.fetchall())
        finally:
            cursor.close()

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement without rows; the number of rows it changed."""
        cursor = self._cursor(sql, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def run_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement once per parameter set (``executemany``)."""
        if not rows:
            return
        database = self._database
        cursor = self.raw.cursor()
        try:
            cursor.executemany(database.prepare(sql), [database.encode(r) for r in rows])
        except database.driver_errors as exc:
            raise database.store_error(exc, sql) from exc
        finally:
            cursor.close()

    def run_rows(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row (``executemany``), each row holding the values
        of ``sql``'s ``:name`` placeholders in the order they appear.

        The bulk path of step records: values are bound by position and encoded by one
        encoder per column, chosen once per statement (JSON and timestamp columns), so
        the other values must be the driver's plain types (``str``, ``int``, ``float``,
        ``bool``, ``bytes`` or ``None``: an enum's ``.value``, not the enum).
        """
        if not rows:
            return
        database = self._database
        prepared, encoded = database.positional(sql)
        if encoded:  # only the columns that need it, and only their values that are set
            converted = []
            for row in rows:
                values = list(row)
                for index, encoder in encoded:
                    value = values[index]
                    if value is not None:
                        values[index] = encoder(value)
                converted.append(values)
            rows = converted
        cursor = self.raw.cursor()
        try:
            cursor.executemany(prepared, rows)
        except database.driver_errors as exc:
            raise database.store_error(exc, sql) from exc
        finally:
            cursor.close()

    def first(self, sql: str, params: Mapping[str, Any] | None = None) -> Record | None:
        """The first row, or ``None``."""
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> Record:
        """The only row; a ``StoreError`` if there is none."""
        row = self.first(sql, params)
        if row is None:
            raise StoreError(f"Expected a row from the store and found none ({sql.split()[0]}).")
        return row

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or ``None``."""
        cursor = self._cursor(sql, params)
        try:
            row = cursor.fetchone()
            name = cursor.description[0][0]
        finally:
            cursor.close()
        if row is None:
            return None
        value = row[0]
        decoder = self._database.decoders.get(name)
        return decoder(value) if decoder is not None and value is not None else value


class Database(ABC):
    """A pool of driver connections and the dialect rules of one database."""

    dialect = ""
    driver_errors: tuple[type[BaseException], ...] = ()  # every error of the driver
    integrity_errors: tuple[type[BaseException], ...] = ()  # the uniqueness/reference ones
    for_update = ""  # appended to a SELECT that must lock the rows it read
    placeholder = "?"  # a positional parameter in the driver's style (``run_rows``)
    decoders: dict[str, Callable[[Any], Any]] = {}

    def __init__(self, url: str) -> None:
        self.url = url
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._abandoned: list[Any] = []
        self._pid = os.getpid()
        # Deferred step records (``write_behind.py``), committed before any other read or
        # write of this process goes through here; ``None`` until a run defers some.
        self.write_behind: WriteBehind | None = None
        self._local = threading.local()  # depth of this thread's open transactions
        self._positional: dict[str, tuple[str, list[tuple[int, Callable[[Any], Any]]]]] = {}

    # -- dialect hooks ----------------------------------------------------------------
    @abstractmethod
    def new_connection(self) -> Any:
        """A new driver connection with the store's settings (not from the pool)."""

    def _begin_write(self, raw: Any) -> None:  # noqa: B027 - optional hook
        """Start a write transaction on ``raw`` (PostgreSQL's driver starts one itself)."""

    def prepare(self, sql: str) -> str:
        """``sql`` in the driver's parameter style."""
        return sql

    @abstractmethod
    def encode_value(self, name: str, value: Any) -> Any:
        """One parameter as the driver takes it (``name`` tells JSON columns apart)."""

    def _healthy(self, raw: Any) -> bool:
        return True

    @abstractmethod
    def column_encoder(self, name: str) -> Callable[[Any], Any] | None:
        """How a value of column ``name`` is bound (``None``: as it is, a plain value)."""

    def positional(self, sql: str) -> tuple[str, list[tuple[int, Callable[[Any], Any]]]]:
        """``sql`` with positional placeholders, and the position and encoder of each
        placeholder whose values need one (cached per statement)."""
        found = self._positional.get(sql)
        if found is None:
            encoders = [self.column_encoder(name) for name in _PARAMETER.findall(sql)]
            escaped = sql.replace("%", "%%") if self.placeholder == "%s" else sql
            found = (
                _PARAMETER.sub(self.placeholder, escaped),
                [(index, e) for index, e in enumerate(encoders) if e is not None],
            )
            self._positional[sql] = found
        return found

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether the database has a table called ``name``."""

    @abstractmethod
    def _is_unique_violation(self, exc: BaseException) -> bool:
        """Whether an integrity error repeated a unique key (else it broke another rule)."""

    def store_error(self, exc: BaseException, sql: str) -> StoreError:
        """A driver error as the store's own: conflicts apart, the statement named."""
        if isinstance(exc, self.integrity_errors):
            return StoreConflictError(
                f"The store refused a write: {exc}", unique=self._is_unique_violation(exc)
            )
        statement = " ".join(sql.split()[:4])
        return StoreError(
            f"The store at {redacted_url(self.url)} failed ({statement} ...): {exc}"
            + _hint(str(exc))
        )

    # -- parameters and rows ----------------------------------------------------------
    def encode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters as the driver takes them."""
        encoded = {}
        encode_value = self.encode_value
        for name, value in params.items():
            # Most values are plain and bound as they are; this test is the per-step path.
            if value is None or (type(value) in _PLAIN_TYPES and name not in JSON_COLUMNS):
                encoded[name] = value
            else:
                encoded[name] = encode_value(name, value)
        return encoded

    def decode(self, description: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[Record]:
        """Driver rows as records, JSON parsed and timestamps timezone-aware."""
        names = [column[0] for column in description]
        decoders = [self.decoders.get(name) for name in names]
        if not any(decoders):
            return [Record(dict(zip(names, row, strict=True))) for row in rows]
        out = []
        for row in rows:
            values = {}
            for name, decoder, value in zip(names, decoders, row, strict=True):
                values[name] = (
                    decoder(value) if decoder is not None and value is not None else value
                )
            out.append(Record(values))
        return out

    # -- connections ------------------------------------------------------------------
    def _checkout(self) -> Any:
        if os.getpid() != self._pid:
            self.after_fork()
        with self._lock:
            while self._idle:
                raw = self._idle.pop()
                if self._healthy(raw):
                    return raw
                self._discard(raw)
        return self.new_connection()

    def _checkin(self, raw: Any) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS and os.getpid() == self._pid:
                self._idle.append(raw)
                return
        self._discard(raw)

    @staticmethod
    def _discard(raw: Any) -> None:
        with contextlib.suppress(Exception):  # a broken connection may not close cleanly
            raw.close()

    def _flush_deferred(self, *, for_read: bool = False) -> None:
        """Commit deferred writes before a read or write sees the database (read-your-
        writes); not inside this thread's own open transaction, which would wait on
        itself."""
        behind = self.write_behind
        if behind is not None and behind.pending and not getattr(self._local, "depth", 0):
            behind.flush(for_read=for_read, before_other=True)

    @contextmanager
    def read(self, *, flush: bool = True) -> Iterator[Connection]:
        """A connection for reading; nothing it does is kept. Deferred writes are
        committed first unless ``flush`` is false (the caller knows they do not matter)."""
        if flush:
            self._flush_deferred(for_read=True)
        raw = self._checkout()
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        try:
            yield Connection(self, raw)
            self._end_read(raw)
        except BaseException:
            self._rollback_or_discard(raw)
            raise
        finally:
            local.depth -= 1
        self._checkin(raw)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed if the block ends normally, else rolled back.
        Deferred writes are committed first."""
        self._flush_deferred()
        with self.transaction() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, without committing deferred writes first (the
        write-behind's own batches)."""
        raw = self._checkout()
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        try:
            self._begin_write(raw)
            yield Connection(self, raw)
            try:
                raw.commit()
            except self.driver_errors as exc:
                # Disk full, I/O error, read-only file: the commit is where they surface.
                raise self.store_error(exc, "COMMIT") from exc
        except BaseException:
            self._rollback_or_discard(raw)
            raise
        finally:
            local.depth -= 1
        self._checkin(raw)

    def _end_read(self, raw: Any) -> None:  # noqa: B027 - optional hook
        """Close the read's transaction, if the driver opened one."""

    def _rollback_or_discard(self, raw: Any) -> None:
        try:
            raw.rollback()
        except Exception:  # the connection is unusable: drop it
            self._discard(raw)
            return
        self._checkin(raw)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            self._discard(raw)

    def after_fork(self) -> None:
        """In a forked child: never touch the parent's connections, open new ones."""
        with self._lock:
            # Kept referenced, not closed: closing would act on the parent's sockets
            # and file locks.
            self._abandoned.extend(self._idle)
            self._idle = []
            self._pid = os.getpid()


def _sqlite_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _sqlite_json(value: Any) -> Any:
    kind = type(value)
    if (kind is dict or kind is list) and not value:
        return _EMPTY_JSON[kind]
    return json.dumps(value)


def _sqlite_timestamp(value: Any) -> Any:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is UTC:  # the usual case: "...+00:00" without its offset
        return value.isoformat(" ", "microseconds")[:26]
    return _naive_utc(value).isoformat(" ", "microseconds")


def _json_loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class SqliteDatabase(Database):
    """SQLite on the standard library's driver.

    WAL journal so readers never block the writer, a busy timeout so two processes can
    run pipelines against one file, foreign keys on, autocommit for reads, and write
    transactions opened with ``BEGIN IMMEDIATE`` so a read is never upgraded to a write
    (which SQLite refuses without waiting).
    """

    dialect = "sqlite"
    decoders: dict[str, Callable[[Any], Any]] = {
        **dict.fromkeys(JSON_COLUMNS, _json_loads),
        **dict.fromkeys(DATETIME_COLUMNS, _sqlite_time),
        **dict.fromkeys(BOOLEAN_COLUMNS, bool),
    }

    def __init__(self, url: str) -> None:
        import sqlite3

        super().__init__(url)
        self._sqlite3 = sqlite3
        self.driver_errors = (sqlite3.Error,)
        self.integrity_errors = (sqlite3.IntegrityError,)
        synchronous = os.environ.get(ENV_SQLITE_SYNCHRONOUS, "NORMAL").upper()
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(
                f"{ENV_SQLITE_SYNCHRONOUS}={synchronous!r}: expected OFF, NORMAL, FULL or EXTRA."
            )
        self._synchronous = synchronous
        path = sqlite_path(url)
        if path is None:  # one shared in-memory database for every connection
            self._target, self._uri = f"file:headrace-{uuid.uuid4()}?mode=memory&cache=shared", True
            self._anchor = self.new_connection()  # the database lives while this is open
        else:
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            self._target, self._uri = path, False

    def new_connection(self) -> Any:
        raw = None
        try:
            raw = self._connect(self._target, self._uri)
            self.configure(raw)
        except self._sqlite3.Error as exc:
            if raw is not None:
                raw.close()
            if self._on_read_only_disk():
                return self._read_only_connection(exc)
            raise StoreError(
                f"Cannot open the store's SQLite database {self._target}: {exc}. Is it a "
                "headrace store? Point HEADRACE_STORE_URL elsewhere or run `headrace init` "
                "in a fresh directory."
            ) from exc
        return raw

    def _connect(self, target: str, uri: bool) -> Any:
        return self._sqlite3.connect(
            target,
            timeout=SQLITE_BUSY_TIMEOUT_S,
            isolation_level=None,  # autocommit; write transactions are opened explicitly
            check_same_thread=False,
            uri=uri,
        )

    def _on_read_only_disk(self) -> bool:
        """Whether the database file sits on a file system mounted read-only."""
        if self._uri:
            return False
        try:
            return bool(os.statvfs(self._target).f_flag & os.ST_RDONLY)
        except OSError:
            return False

    def _read_only_connection(self, error: BaseException) -> Any:
        """A connection that can read a store on a read-only file system.

        SQLite cannot open a WAL database there (it needs to create its ``-shm`` file), so
        the file is opened as immutable: nothing can change it through this mount. Every
        write is refused by SQLite and surfaces as a ``StoreError`` naming the store.
        """
        from urllib.parse import quote

        try:
            raw = self._connect(f"file:{quote(self._target)}?immutable=1", True)
            raw.execute("PRAGMA foreign_keys=ON")
        except self._sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the store's SQLite database {self._target} on its read-only "
                f"file system: {exc} (first error: {error})."
            ) from exc
        return raw

    def configure(self, raw: Any) -> None:
        """Apply the journal, durability, timeout and foreign-key settings to ``raw``."""
        cursor = raw.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={self._synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    def _begin_write(self, raw: Any) -> None:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except self._sqlite3.Error as exc:
            raise self.store_error(exc, "BEGIN IMMEDIATE") from exc

    def _is_unique_violation(self, exc: BaseException) -> bool:
        message = str(exc)
        return "UNIQUE constraint" in message or "PRIMARY KEY" in message

    def has_table(self, name: str) -> bool:
        with self.read() as conn:
            found = conn.scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name",
                {"name": name},
            )
        return found is not None

    def _rollback_or_discard(self, raw: Any) -> None:
        if raw.in_transaction:
            super()._rollback_or_discard(raw)
        else:
            self._checkin(raw)

    def column_encoder(self, name: str) -> Callable[[Any], Any] | None:
        if name in JSON_COLUMNS:
            return _sqlite_json
        if name in DATETIME_COLUMNS:
            return _sqlite_timestamp
        return None

    def encode_value(self, name: str, value: Any) -> Any:
        kind = type(value)
        if kind is dict or kind is list:  # JSON columns; most are empty
            return json.dumps(value) if value else _EMPTY_JSON[kind]
        if value is None:
            return None
        if isinstance(value, datetime):
            return _naive_utc(value).isoformat(" ", "microseconds")
        if name in JSON_COLUMNS or isinstance(value, dict | list | tuple):
            return json.dumps(value)
        if isinstance(value, Enum):
            return value.value
        return value


def _postgres_timestamp(value: Any) -> Any:
    return _naive_utc(value) if isinstance(value, datetime) else value


def _postgres_time(value: Any) -> datetime:
    return _aware(value) if isinstance(value, datetime) else _sqlite_time(value)


class PostgresDatabase(Database):
    """PostgreSQL through psycopg 3 (``pip install 'headrace[postgres]'``)."""

    dialect = "postgresql"
    for_update = " FOR UPDATE"
    placeholder = "%s"
    decoders: dict[str, Callable[[Any], Any]] = {
        **dict.fromkeys(JSON_COLUMNS, _json_loads),
        **dict.fromkeys(DATETIME_COLUMNS, _postgres_time),
    }

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg.types.json import Json
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise StoreError(
                f"The store URL {url!r} needs psycopg: pip install 'headrace[postgres]'."
            ) from exc
        super().__init__(url)
        self._psycopg = psycopg
        self._json = Json
        self.driver_errors = (psycopg.Error,)
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        # postgresql+psycopg://... (SQLAlchemy's spelling) -> postgresql://...
        self._conninfo = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
        self._prepared: dict[str, str] = {}

    def new_connection(self) -> Any:
        try:
            return self._psycopg.connect(self._conninfo)
        except self._psycopg.OperationalError as exc:
            raise StoreError(f"Cannot connect to the store at {self.url}: {exc}") from exc

    def _healthy(self, raw: Any) -> bool:
        status = raw.info.transaction_status
        return not raw.closed and status == self._psycopg.pq.TransactionStatus.IDLE

    def _end_read(self, raw: Any) -> None:
        raw.rollback()  # ends the snapshot the reads ran in

    def _is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.UniqueViolation)

    def has_table(self, name: str) -> bool:
        with self.read() as conn:
            return conn.scalar("SELECT to_regclass(:name) IS NOT NULL", {"name": name}) is True

    def prepare(self, sql: str) -> str:
        prepared = self._prepared.get(sql)
        if prepared is None:
            prepared = _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))
            self._prepared[sql] = prepared
        return prepared

    def column_encoder(self, name: str) -> Callable[[Any], Any] | None:
        if name in JSON_COLUMNS:
            return self._json
        if name in DATETIME_COLUMNS:
            return _postgres_timestamp
        return None

    def encode_value(self, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return _naive_utc(value)
        if value is not None and (name in JSON_COLUMNS or isinstance(value, dict | list)):
            return self._json(value)
        if isinstance(value, Enum):
            return value.value
        return value


def open_database(url: str) -> Database:
    """The database of a store URL (``sqlite:///...`` or ``postgresql://...``)."""
    if is_sqlite(url):
        return SqliteDatabase(url)
    if url.startswith(("postgresql", "postgres")):
        return PostgresDatabase(url)
    raise StoreError(
        f"Unsupported store URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB."
    )


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(:name_0, :name_1, ...)`` for an ``IN`` clause, adding the values to ``params``."""
    keys = [f"{name}_{i}" for i in range(len(values))]
    params.update(zip(keys, values, strict=True))
    return "(" + ", ".join(f":{key}" for key in keys) + ")"
