"""The slot-based records that replace dataclasses on the run path."""

from __future__ import annotations

import copy
import pickle

import pytest

from headrace.dsl.signature import InputInfo, StepSignature
from headrace.execution.run_state import OutputRecord
from headrace.utils.records import FrozenRecord, Record


class Point(Record):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int = 0) -> None:
        self.x = x
        self.y = y


class Frozen(FrozenRecord):
    __slots__ = ("name", "tags")

    def __init__(self, name: str, tags: tuple[str, ...] = ()) -> None:
        self._init(name=name, tags=tags)


def test_equality_repr_and_no_hash_for_mutable_records() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert Point(1) != (1, 0)
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    with pytest.raises(TypeError):
        hash(Point(1))


def test_frozen_records_refuse_changes_and_hash_by_value() -> None:
    record = Frozen("a", ("t",))
    with pytest.raises(AttributeError, match="frozen"):
        record.name = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del record.name
    assert hash(record) == hash(Frozen("a", ("t",)))
    assert {record, Frozen("a", ("t",))} == {record}


def test_records_pickle_and_copy() -> None:
    for record in (Point(3, 4), Frozen("a", ("t",))):
        assert pickle.loads(pickle.dumps(record)) == record
        assert copy.copy(record) == record
        assert copy.deepcopy(record) == record


def test_output_record_without_value() -> None:
    record = OutputRecord("id", "uri", "mat", "int", "hash", "3.11.7", value=5, has_value=True)
    bare = record.without_value()
    assert (bare.value, bare.has_value) == (None, False)
    assert bare == OutputRecord("id", "uri", "mat", "int", "hash", "3.11.7")
    assert pickle.loads(pickle.dumps(record)) == record


def test_signature_records_are_frozen() -> None:
    info = InputInfo("x", int, True, False)
    signature = StepSignature({"x": info}, {})
    with pytest.raises(AttributeError):
        signature.inputs = {}  # type: ignore[misc]
    assert info == InputInfo("x", int, True, False, None)
