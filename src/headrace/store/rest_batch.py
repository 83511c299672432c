"""Write-behind for a remote store's step records: one request per few milliseconds,
not one per step.

A run against ``headrace server`` records every step (its start, its end with its output
artifact versions, an update). Waiting for the server's answer each time would cost a
round trip per step, so the RestStore queues these records here and a background
thread sends what has gathered ``linger`` seconds after the first one (or as soon as
``max_records`` are waiting) in one ``POST /api/v1/steps/batch``, which the server
applies in one transaction. Nothing downstream needs the server's answer: the ids of
step runs and artifact versions are made by the client.

Guarantees:

* Read your writes: every other request of the store (reads included) first sends what
  is queued, in order, and waits for it to be applied.
* Visible to others within ``linger`` plus one round trip.
* Sent at the end of a run (its final status is a request), when ``flush()`` or
  ``close()`` is called, and at interpreter exit.
* Never dropped silently: a batch the server refuses (or cannot receive) is reported as
  a ``StoreError`` (of the class the server answered, e.g. ``EntityExistsError``) naming
  the server, raised to the next caller of the store (the step recording, the run's
  end), so the run fails with it; at interpreter exit it is logged as an error.

``linger`` 0 sends each record at once, in the caller's thread (write-through).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable

from headrace.exceptions import HeadraceError
from headrace.models.wire import MAX_STEP_RECORDS
from headrace.store.step_records import with_message
from headrace.utils.env import ENV_STORE_WRITE_BEHIND_MS, env_number

logger = logging.getLogger(__name__)

DEFAULT_LINGER_S = 0.01
MAX_RECORDS = 200
IDLE_EXIT_S = 30.0  # the thread ends after this long without records (the next starts one)
if MAX_RECORDS > MAX_STEP_RECORDS:  # pragma: no cover - a constant's sanity check
    raise AssertionError("MAX_RECORDS exceeds what the server takes in one batch")


def write_behind_linger() -> float:
    """Seconds a step record waits for others (``HEADRACE_STORE_WRITE_BEHIND_MS``,
    default 10; 0 sends each record at once)."""
    return env_number(ENV_STORE_WRITE_BEHIND_MS, DEFAULT_LINGER_S * 1000) / 1000


# Sends one batch body (``{"records": [...]}``); raises the server's error.
Sender = Callable[[bytes], None]


class WriteBehind:
    """Step records waiting to be sent, and the thread that sends them.

    Args:
        send: sends one batch body, raising the server's error.
        where: the server, as error messages name it.
        linger: seconds a record may wait for others to join it (0: send at once).
        max_records: a batch this large is sent without waiting.
    """

    def __init__(
        self,
        send: Sender,
        where: str,
        *,
        linger: float = DEFAULT_LINGER_S,
        max_records: int = MAX_RECORDS,
    ) -> None:
        self._send = send
        self._where = where
        self.linger = linger
        self._max = max_records
        self._reset()
        _at_exit.add(self)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._queue: list[tuple[bytes, tuple[str, ...]]] = []
        # Cache keys of step runs in records not yet applied (queued or on their way).
        self._unapplied: Counter[str] = Counter()
        self._first_at = 0.0
        self._failure: HeadraceError | None = None
        self._ready = threading.Condition(threading.Lock())
        # Held while a batch is on its way: a flush waits for it, so reads see it.
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- callers ------------------------------------------------------------------------
    def add(self, record: bytes, cache_keys: tuple[str, ...] = ()) -> None:
        """Queue one record (its JSON; ``cache_keys``: those of the step runs it starts
        or ends); raises the error of an earlier batch."""
        if os.getpid() != self._pid:
            self.forget()
        self.raise_failure()
        if self.linger <= 0:
            self._send(batch_body([record]))
            return
        with self._ready:
            if not self._queue:
                self._first_at = time.monotonic()
            self._queue.append((record, cache_keys))
            self._unapplied.update(cache_keys)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._loop,
                    args=(self._stop,),
                    name="headrace-rest-write-behind",
                    daemon=True,
                )
                self._thread.start()
            elif len(self._queue) == 1 or len(self._queue) >= self._max:
                self._ready.notify()

    def flush(self) -> None:
        """Send what is queued and wait until it is applied (or an earlier batch on its
        way is); raises the error of any batch that failed."""
        if os.getpid() != self._pid:
            self.forget()
            return
        self._send_queued(in_background=False)
        self.raise_failure()

    def raise_failure(self) -> None:
        """Raise (once) the error of a batch the background thread could not write."""
        failure = self._failure
        if failure is not None:
            self._failure = None
            raise failure

    def holds(self, cache_key: str) -> bool:
        """Whether a record not yet applied starts or ends a step run with this cache
        key: a cache lookup must flush first only then (the others cannot change its
        answer)."""
        return cache_key in self._unapplied

    @property
    def pending(self) -> int:
        """Records queued and not yet sent."""
        return len(self._queue)

    def close(self) -> None:
        """Send what is queued and stop the thread (a later record starts another)."""
        try:
            self.flush()
        finally:
            with self._ready:
                self._stop.set()
                self._thread = None
                self._ready.notify_all()

    def forget(self) -> None:
        """In a forked child: the parent sends its own queue; start empty."""
        self._reset()

    # -- the thread ---------------------------------------------------------------------
    def _loop(self, stop: threading.Event) -> None:
        while True:
            with self._ready:
                while not self._queue and not stop.is_set():
                    if not self._ready.wait(IDLE_EXIT_S) and not self._queue:
                        # Idle: end, so an unused store is not kept alive by its thread.
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                if stop.is_set():
                    return
                while len(self._queue) < self._max and not stop.is_set():
                    left = self._first_at + self.linger - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
                due = stop.is_set() or self._first_at + self.linger <= time.monotonic()
            # Woken by a full batch: send full batches only, and let the rest wait for
            # others to join it (records queued while the thread woke up are not sent
            # as a part-batch of their own); once the oldest has waited its linger, all.
            self._send_queued(in_background=True, full_only=not due)

    def _send_queued(self, *, in_background: bool, full_only: bool = False) -> None:
        with self._sending:
            while True:
                with self._ready:
                    if full_only and len(self._queue) < self._max:
                        return
                    batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                    if self._queue:
                        self._first_at = time.monotonic()
                if not batch:
                    return
                try:
                    self._send(batch_body([record for record, _ in batch]))
                except HeadraceError as exc:
                    failure = self._failed(exc, len(batch))
                    if not in_background:
                        raise failure from exc
                    if self._failure is None:  # the first error is the one to report
                        self._failure = failure
                    logger.debug("A batch of step records failed: %s", failure)
                finally:
                    with self._ready:
                        self._unapplied.subtract(key for _, keys in batch for key in keys)
                        self._unapplied = +self._unapplied  # drop the keys at zero

    def _failed(self, error: HeadraceError, count: int) -> HeadraceError:
        """The error to report for a batch of ``count`` records that was not written."""
        detail = str(error)
        if self._where not in detail:
            detail = f"the headrace server at {self._where} refused them: {detail}"
        message = (
            f"{count} step record(s) of this run could not be written to the headrace "
            f"server at {self._where}; the run's record there is incomplete. {detail}"
        )
        return with_message(error, message)  # the same class: callers catch it as before


def batch_body(records: list[bytes]) -> bytes:
    """The body of ``POST /api/v1/steps/batch`` holding these records (JSON each)."""
    return b'{"records":[' + b",".join(records) + b"]}"


class _AtExit:
    """Flushes every live write-behind when the interpreter exits."""

    def __init__(self) -> None:
        self._live: weakref.WeakSet[WriteBehind] = weakref.WeakSet()
        self._registered = False
        self._lock = threading.Lock()

    def add(self, behind: WriteBehind) -> None:
        with self._lock:
            self._live.add(behind)
            if not self._registered:
                atexit.register(self.flush_all)
                self._registered = True

    def discard(self, behind: WriteBehind) -> None:
        with self._lock:
            self._live.discard(behind)

    def flush_all(self) -> None:
        with self._lock:
            live = list(self._live)
        for behind in live:
            try:
                behind.flush()
            except HeadraceError as exc:
                logger.error("%s", exc)


_at_exit = _AtExit()
