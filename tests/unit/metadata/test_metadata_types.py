"""Metadata values: type names recorded beside JSON values, and typed values rebuilt."""

from __future__ import annotations

import enum
import json
import math

import pytest

from headrace.exceptions import ConfigurationError
from headrace.metadata.metadata_types import (
    DType,
    Path,
    StorageSize,
    Uri,
    decode_metadata,
    encode_metadata,
    type_name,
    validate_metadata,
)


class Color(enum.IntEnum):
    RED = 1


def test_every_kind_round_trips_through_json() -> None:
    metadata = {
        "uri": Uri("s3://b/k"),
        "path": Path("/tmp/x"),
        "dtype": DType("int64"),
        "size": StorageSize(10),
        "tuple": (1, "a"),
        "set": {3},
        "frozen": frozenset({4}),
        "nested": {"a": [1, {"b": None}]},
        "flag": False,
        "none": None,
        "nan": math.nan,
    }
    values, types = encode_metadata(metadata)
    stored_values, stored_types = json.loads(json.dumps(values)), json.loads(json.dumps(types))
    decoded = decode_metadata(stored_values, stored_types)
    for key in ("uri", "path", "dtype", "size", "tuple", "set", "nested", "flag", "none"):
        assert decoded[key] == metadata[key]
        assert type(decoded[key]) is type(metadata[key])
    assert decoded["frozen"] == {4} and math.isnan(decoded["nan"])
    assert decode_metadata(decoded, stored_types) == decoded  # decoding again is harmless


def test_type_names() -> None:
    assert [type_name(v) for v in (True, 1, 1.0, "s", None, Color.RED)] == [
        "bool",
        "int",
        "float",
        "str",
        "null",
        "int",
    ]
    assert decode_metadata({"a": 1}, None) == {"a": 1}
    assert decode_metadata({"a": "x"}, {"a": "StorageSize"}) == {"a": "x"}  # unreadable: kept


def test_validation_names_the_bad_key() -> None:
    assert validate_metadata({"a": (1, {2})}) == {"a": (1, {2})}
    with pytest.raises(ConfigurationError, match=r"metadata\['obj'\]: a object cannot be"):
        validate_metadata({"obj": object()})
    with pytest.raises(ConfigurationError, match="must be a dict"):
        validate_metadata([("a", 1)])
    with pytest.raises(ConfigurationError, match="keys must be non-empty strings, got 1"):
        validate_metadata({1: "a"})
