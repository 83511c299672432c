"""Group commit of step records: deferred writes committed together by one thread.

A step of a chain does little work of its own; committing its records (step run, output
versions, links) one transaction each made the commit the largest single cost per step.
While a run drives steps in its own process (``Store.write_behind``), a step's
completion is queued here and a background thread commits the queue every
``delay_s`` (or once ``max_queued`` writes wait) in one transaction, the batch's rows
written in bulk by its ``BatchWriter`` (``step_writes.py``). Should the queue still
grow to ``max_backlog`` writes (the committing thread shares the interpreter with the
steps, which may starve it), the thread that queues commits a batch itself: the queue
stays short, and so does the wait of a read that must commit it first.

What a caller can rely on:

- Read-your-writes: every read or write through the same database in this process
  commits the queue first (``Database.read``/``Database.write`` call ``flush``), so a
  cache lookup, a ``Client`` call in a hook, ``run.wait`` or the run's end always see
  what was queued before them.
- Other processes see a record within about ``delay_s`` plus one commit.
- Nothing is dropped silently: a batch whose commit fails (disk full, I/O error) stays
  queued and the error (a ``StoreError`` naming the store) is raised to the next caller
  that flushes, defers or reads, at the latest the run's end. A write the database
  refuses on its own (a conflict) is committed apart from the rest of its batch and its
  error raised the same way.
- A batch is one transaction: a process killed with SIGKILL loses at most the writes
  still queued, never leaves half a batch. Leaving the last ``write_behind`` block, the
  interpreter's exit and ``close`` commit the queue.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from headrace.exceptions import StoreConflictError, StoreError
from headrace.store.sql.database import redacted_url
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.store.sql.database import Connection, Database

logger = headrace_logger()


class BatchWriter(Protocol):
    """Writes a batch of deferred writes (opaque items to the queue)."""

    def write_batch(self, conn: Connection, batch: Sequence[Any]) -> Callable[[], None] | None:
        """Run the batch's statements on ``conn`` (its transaction); returns what to do
        once the batch committed (remember learned ids), or ``None``."""

    def committed(self, conn: Connection, item: Any) -> bool:
        """Whether ``item`` is in the database (a COMMIT that reported an error may
        have committed all the same, see ``WriteBehind._committed_after_all``)."""


_Queued = tuple[Any, "tuple[str, ...] | None"]  # a deferred write and its cache keys

DEFAULT_DELAY_S = 0.02
MAX_QUEUED = 500  # a batch commits early once this many writes wait
MAX_BACKLOG = 2000  # ... and the thread that queues commits once this many wait

_OPEN: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


class WriteBehind:
    """The queue of deferred writes of one database and the thread that commits it."""

    def __init__(
        self,
        database: Database,
        writer: BatchWriter,
        delay_s: float = DEFAULT_DELAY_S,
        max_queued: int = MAX_QUEUED,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        self._db = database
        self._writer = writer
        self.delay_s = delay_s
        self.max_queued = max_queued
        self.max_backlog = max(max_backlog, max_queued)
        self._queue: list[_Queued] = []
        self._in_flight = False  # a batch taken from the queue is being committed
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._committing = threading.Lock()  # one batch at a time, in queue order
        self._refused: StoreError | None = None  # a write the database refused, unreported
        self._failed = False  # the last commit failed: its writes wait for the next try
        self._reported = False  # ... and a caller was told
        self._keys: Counter[str] = Counter()  # cache keys of queued step runs (``may_hold``)
        self._unknown_keys = 0  # queued writes whose cache keys are not known
        self._users = 0
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # Threads that queued writes: a refusal is reported to one of them (or to an
        # explicit flush), never swallowed by a background thread's read or write.
        self._producers: set[int] = set()

    # -- state --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether writes are deferred now (some ``write_behind`` block is open)."""
        return self._users > 0

    @property
    def pending(self) -> bool:
        """Whether a flush has anything to commit or report."""
        return bool(self._queue) or self._in_flight or self._refused is not None

    @property
    def owned_here(self) -> bool:
        """Whether this process made the queue (a forked child never commits its
        parent's writes: ``_after_fork`` empties its copy)."""
        return self._pid == os.getpid()

    def open(self) -> None:
        """Start deferring (nested opens count); starts the committing thread."""
        with self._lock:
            self._users += 1
            if self._thread is None:  # (the thread clears it, under the lock, as it ends)
                self._thread = threading.Thread(
                    target=self._loop, name="headrace-write-behind", daemon=True
                )
                self._thread.start()
        _OPEN.add(self)

    def close(self) -> None:
        """Stop deferring (the last close of nested opens); commits what is queued."""
        if _exit.committed and not self._queue:
            # A block left as the interpreter ends (its generator collected) after the
            # exit handler committed the queue: the committing thread may have been
            # stopped holding the lock, so taking it could wait forever.
            return
        with self._lock:
            self._users = max(0, self._users - 1)
            self._wake.notify()
        self.flush()

    # -- writes -------------------------------------------------------------------------
    def defer(self, write: Any, cache_keys: Collection[str] | None = None) -> None:
        """Queue ``write`` (an item the ``BatchWriter`` writes) for the next batch.
        ``cache_keys``: the cache keys of the step runs it writes (``None``: unknown),
        so a cache lookup of another key need not wait for the batch (``may_hold``).

        Raises:
            StoreError: an earlier batch could not be committed and still cannot be
                (or, the backlog full, this one).
        """
        if self._refused is not None or self._failed:
            self.flush()
        keys = None if cache_keys is None else tuple(cache_keys)
        with self._lock:
            self._producers.add(threading.get_ident())
            self._queue.append((write, keys))
            if keys is None:
                self._unknown_keys += 1
            else:
                self._keys.update(keys)
            queued = len(self._queue)
            if queued == 1 or queued >= self.max_queued:
                self._wake.notify()
        if queued >= self.max_backlog:
            self.flush()  # back-pressure: the committing thread does not keep up

    def may_hold(self, cache_key: str) -> bool:
        """Whether a write queued (or being committed) may record a step run with
        ``cache_key``: a cache lookup of that key must flush first, any other need not."""
        return self._unknown_keys > 0 or cache_key in self._keys

    def flush(
        self, *, for_read: bool = False, report: bool = True, before_other: bool = False
    ) -> None:
        """Commit everything queued now, in this thread.

        ``for_read``: a read follows. Once a failed commit was reported to a caller, a
        read goes on with what is committed (a full disk can still be read; the queue
        is retried by every later call), where a write still raises. ``report=False``
        (the committing thread): errors are kept for the next caller to raise.
        ``before_other``: the flush only precedes another read or write; a refused
        write is then reported only to a thread that queued writes, so that a
        background thread (heartbeat, record flusher) cannot swallow it while the run
        goes on writing records that refer to it.

        Raises:
            StoreError: the batch could not be committed (it stays queued for the next
                try), or a write was refused since the last flush (it is not retried).
        """
        with self._committing:
            with self._lock:
                batch, self._queue = self._queue, []
                # Until it is committed, another thread's write must wait for this batch
                # (``pending``): it may depend on it (a step's inputs on their versions).
                self._in_flight = bool(batch)
            try:
                if batch:
                    self._commit(batch)
            except StoreError:
                self._failed = True
                if (for_read and self._reported) or not report:
                    return
                self._reported = True
                raise
            finally:
                self._in_flight = False
            self._failed = self._reported = False
            self._forget_keys(batch)  # committed (or refused, to be reported)
            if not report or self._refused is None:
                return
            if before_other and threading.get_ident() not in self._producers:
                return
            refused, self._refused = self._refused, None
        raise refused

    def _forget_keys(self, batch: list[_Queued]) -> None:
        with self._lock:
            for _, keys in batch:
                if keys is None:
                    self._unknown_keys -= 1
                else:
                    self._keys.subtract(keys)
            self._keys = +self._keys  # drop the keys no queued write has any more

    def _commit(self, batch: list[_Queued]) -> None:
        """One transaction for the whole batch; writes the database refuses are
        committed apart so the others are kept."""
        try:
            with self._db.transaction() as conn:
                after = self._writer.write_batch(conn, [write for write, _ in batch])
        except StoreConflictError:
            self._commit_one_by_one(batch)
            return
        except StoreError as exc:
            if not self._committed_after_all(batch[-1][0], exc):
                self._requeue(batch)
                raise
            return
        except BaseException:
            self._requeue(batch)
            raise
        if after is not None:
            after()

    def _committed_after_all(self, last: Any, error: StoreError) -> bool:
        """Whether a batch whose COMMIT reported ``error`` was committed all the same.

        SQLite runs its automatic WAL checkpoint inside the COMMIT and reports the
        checkpoint's failure (a full disk) as the COMMIT's, though the transaction is
        committed: retrying that batch would write its records twice.
        """
        committed = self._in_database(last)
        if committed:
            logger.warning("Step records were committed, but the store reported: %s", error)
        return committed

    def _in_database(self, write: Any) -> bool:
        try:
            with self._db.read(flush=False) as conn:
                return bool(self._writer.committed(conn, write))
        except StoreError:
            return False

    def _commit_one_by_one(self, batch: list[_Queued]) -> None:
        for index, (write, _) in enumerate(batch):
            try:
                with self._db.transaction() as conn:
                    after = self._writer.write_batch(conn, [write])
            except StoreConflictError as exc:
                if self._in_database(write):
                    # An earlier COMMIT reported an error (a full disk) but committed it:
                    # its retry conflicts with itself, nothing was refused.
                    continue
                logger.error("A deferred store write was refused: %s", exc)
                if self._refused is None:
                    self._refused = StoreError(
                        f"The store at {redacted_url(self._db.url)} refused a step's records: {exc}"
                    )
                continue
            except BaseException:
                self._requeue(batch[index:])
                raise
            if after is not None:
                after()

    def _requeue(self, writes: list[_Queued]) -> None:
        with self._lock:
            self._queue[:0] = writes

    # -- the committing thread ----------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue or self._failed:
                    if self._users == 0:
                        self._thread = None
                        return
                    self._wake.wait()
                if len(self._queue) < self.max_queued:
                    self._wake.wait(self.delay_s)  # gather a batch
            try:
                # A failed batch stays queued and a refused write is kept, for the next
                # caller (a step's completion, a read, the run's end) to raise.
                self.flush(report=False)
            except Exception:  # never let the thread die with writes queued
                logger.exception("Committing deferred step records failed")

    def _after_fork(self) -> None:
        self._queue = []
        self._in_flight = False
        self._keys = Counter()
        self._unknown_keys = 0
        self._refused = None
        self._failed = self._reported = False
        self._users = 0
        self._thread = None
        self._pid = os.getpid()
        self._producers = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._committing = threading.Lock()


class _Exit:
    committed = False  # ``flush_all`` ran: the interpreter is ending


_exit = _Exit()


def flush_all() -> None:
    """Commit the queue of every write-behind of this process (at exit)."""
    _exit.committed = True
    for behind in list(_OPEN):
        if not behind.owned_here or not behind.pending:
            continue
        try:
            behind.flush()
        except StoreError as exc:
            logger.error("Step records could not be committed before exit: %s", exc)


def _forget_in_child() -> None:
    """In a forked child: the parent commits its own queue; the child starts empty."""
    for behind in list(_OPEN):
        behind._after_fork()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_forget_in_child)
