"""The write-behind queue on its own (``headrace.store.rest_batch``): when batches leave,
how big they are, and how a failure is reported. The sender here keeps the bodies it is
given; ``tests/integration/server/test_remote_write_behind.py`` runs the same queue
against a real server."""

from __future__ import annotations

import json
import threading
import time

import pytest

from headrace.exceptions import EntityExistsError, StoreError
from headrace.store import rest_batch
from headrace.store.rest_batch import WriteBehind


class Recorder:
    """A sender that keeps the records of each batch (and can be told to fail)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.failure: Exception | None = None
        self.sent = threading.Event()

    def __call__(self, body: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.batches.append([record["n"] for record in json.loads(body)["records"]])
        self.sent.set()


def _record(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


def test_records_gathered_within_the_linger_leave_in_one_batch() -> None:
    sender = Recorder()
    behind = WriteBehind(sender, "http://server", linger=0.2)
    for n in range(5):
        behind.add(_record(n))
    assert sender.sent.wait(10)
    assert sender.batches == [[0, 1, 2, 3, 4]]
    behind.close()


def test_a_full_batch_leaves_at_once_and_flush_sends_the_rest_in_order() -> None:
    sender = Recorder()
    behind = WriteBehind(sender, "http://server", linger=600, max_records=3)
    for n in range(7):
        behind.add(_record(n))
    behind.flush()
    assert [n for batch in sender.batches for n in batch] == list(range(7))
    assert all(len(batch) <= 3 for batch in sender.batches)
    assert behind.pending == 0
    behind.close()


def test_records_queued_while_a_full_batch_is_sent_wait_for_the_next_full_one() -> None:
    """Woken by a full batch, the thread sends full batches only: records that arrived
    while it was busy are not sent as a part-batch of their own (under load this split
    450 records into 200, 44, 2, 49 and 155 instead of 200, 200 and 50)."""
    release = threading.Event()
    sender = Recorder()

    def slow_first(body: bytes) -> None:
        if not sender.batches:
            release.wait(10)
        sender(body)

    behind = WriteBehind(slow_first, "http://server", linger=60, max_records=10)
    for n in range(10):
        behind.add(_record(n))  # full: the thread takes it and is held in the sender
    deadline = time.monotonic() + 10
    while behind.pending and time.monotonic() < deadline:
        time.sleep(0.005)
    for n in range(10, 23):
        behind.add(_record(n))  # 13 more while the first batch is on its way
    release.set()
    while len(sender.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.2)  # the thread had every chance to send the 3 left over
    assert [len(batch) for batch in sender.batches] == [10, 10]
    for n in range(23, 30):
        behind.add(_record(n))
    behind.flush()
    assert [len(batch) for batch in sender.batches] == [10, 10, 10]
    assert [n for batch in sender.batches for n in batch] == list(range(30))
    behind.close()


def test_linger_zero_sends_each_record_in_the_callers_thread() -> None:
    sender = Recorder()
    behind = WriteBehind(sender, "http://server", linger=0)
    behind.add(_record(1))
    assert sender.batches == [[1]]
    sender.failure = EntityExistsError("taken")
    with pytest.raises(EntityExistsError, match="taken"):
        behind.add(_record(2))


def test_a_failed_background_batch_is_raised_once_with_the_server_named() -> None:
    sender = Recorder()
    sender.failure = StoreError("Cannot reach the headrace server at http://server")
    behind = WriteBehind(sender, "http://server", linger=0.01)
    behind.add(_record(1))
    deadline = time.monotonic() + 10
    while behind._failure is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(StoreError, match=r"1 step record\(s\) .* http://server") as caught:
        behind.add(_record(2))
    assert "Cannot reach" in str(caught.value)
    sender.failure = None
    behind.flush()  # reported once: the queue goes on
    assert sender.batches == []  # record 2 was refused with the error, not queued
    behind.close()


def test_a_refused_flush_keeps_the_error_class() -> None:
    sender = Recorder()
    behind = WriteBehind(sender, "http://server", linger=600)
    behind.add(_record(1))
    sender.failure = EntityExistsError("Record 1 (the start records of step(s) 'a'): taken")
    with pytest.raises(EntityExistsError, match="could not be written to the headrace server"):
        behind.flush()
    behind.close()


def test_an_idle_thread_ends_and_a_new_record_starts_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rest_batch, "IDLE_EXIT_S", 0.05)
    sender = Recorder()
    behind = WriteBehind(sender, "http://server", linger=0.01)
    behind.add(_record(1))
    first = behind._thread
    assert first is not None
    first.join(10)
    assert not first.is_alive() and behind._thread is None
    behind.add(_record(2))
    behind.flush()
    assert sender.batches == [[1], [2]]
    behind.close()


def test_the_linger_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", "25")
    assert rest_batch.write_behind_linger() == pytest.approx(0.025)
    monkeypatch.setenv("HEADRACE_STORE_WRITE_BEHIND_MS", "soon")
    with pytest.raises(ValueError, match="HEADRACE_STORE_WRITE_BEHIND_MS"):
        rest_batch.write_behind_linger()
