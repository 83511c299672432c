"""Built-in values round-trip as JSON (or raw bytes), on a local and a memory:// store."""

from __future__ import annotations

import collections
import enum
import json
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.saving import SavedArtifact
from headrace.materializers.built_in_materializer import (
    DATA_FILE,
    MANIFEST_FILE,
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
    BytesMaterializer,
)

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


class Color(enum.Enum):
    RED = "red"
    BLUE = ("b", 2)  # a value JSON cannot tell from a list: stored by member name


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


class Point(NamedTuple):
    x: int
    y: int


class Box:
    """A plain class: no materializer is registered for it."""

    def __init__(self, content: Any) -> None:
        self.content = content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and other.content == self.content

    def __hash__(self) -> int:
        return hash(("Box", repr(self.content)))


def _materializer_name(saved: SavedArtifact) -> str:
    return saved.materializer.rsplit(".", 1)[-1]


@pytest.mark.parametrize(
    "value",
    [0, -7, 2**80, 3.25, -0.0, 1e308, True, False, "", "héllo wörld ✓", "line\nbreak", None],
    ids=repr,
)
def test_scalars_round_trip_with_their_type(roundtrip: RoundTrip, value: Any) -> None:
    loaded, saved = roundtrip(value)

    assert loaded == value and type(loaded) is type(value)
    assert _materializer_name(saved) == BuiltInMaterializer.__name__


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=repr)
def test_non_finite_floats_round_trip(roundtrip: RoundTrip, value: float) -> None:
    loaded, _ = roundtrip(value)

    assert isinstance(loaded, float)
    assert (math.isnan(loaded) and math.isnan(value)) or loaded == value


def test_bool_is_not_stored_as_int(roundtrip: RoundTrip) -> None:
    loaded, _ = roundtrip(True)

    assert loaded is True


@pytest.mark.parametrize("value", [b"", b"\x00\xffbinary\n", bytes(range(256)) * 10], ids=len)
def test_bytes_are_stored_raw(roundtrip: RoundTrip, value: bytes) -> None:
    loaded, saved = roundtrip(value)

    assert loaded == value and type(loaded) is bytes
    assert _materializer_name(saved) == BytesMaterializer.__name__
    assert saved.size == len(value)  # raw bytes, no encoding overhead


def test_bytearray_comes_back_as_bytearray(roundtrip: RoundTrip) -> None:
    loaded, _ = roundtrip(bytearray(b"abc"))

    assert loaded == bytearray(b"abc") and type(loaded) is bytearray


NESTED: list[Any] = [
    [],
    (),
    {},
    set(),
    frozenset(),
    [1, 2.5, "x", None, True],
    (1, (2, (3, "deep"))),
    {"a": [1, {"b": (2, 3)}], "c": {"d": None}},
    {1: "int key", 2.5: "float key", (1, "t"): "tuple key", None: "none key", False: "0"},
    {(1, (2, 3)): {frozenset({1, 2}): "nested hashable keys"}},
    {"x", "y", "z"},
    frozenset({1, "two", (3, 4)}),
    [{1, 2}, frozenset({"a"}), (b"bytes", bytearray(b"")), [[[]]]],
    {"__headrace__": "tuple", "items": [1, 2]},  # looks like our tag, stays a dict
    [math.inf, -math.inf],
]


@pytest.mark.parametrize(
    "value", NESTED, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(NESTED)]
)
def test_containers_round_trip_exactly(roundtrip: RoundTrip, value: Any) -> None:
    loaded, saved = roundtrip(value)

    assert loaded == value and type(loaded) is type(value)
    assert repr(loaded) == repr(value) or isinstance(value, set | frozenset)
    assert _materializer_name(saved) == BuiltInContainerMaterializer.__name__


def test_nested_types_are_kept_not_just_equal(roundtrip: RoundTrip) -> None:
    value = {(1, 2): [(3,), {4}], "k": ((), [()])}

    loaded, _ = roundtrip(value)

    key = next(iter(loaded))
    assert type(key) is tuple
    assert type(loaded[(1, 2)][0]) is tuple and type(loaded[(1, 2)][1]) is set
    assert loaded["k"] == ((), [()]) and type(loaded["k"][1][0]) is tuple


def test_all_builtin_container_is_one_json_document(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip({"a": [1, 2]})

    assert artifact_store.listdir(saved.uri) == [DATA_FILE]
    with artifact_store.open(artifact_store.join(saved.uri, DATA_FILE)) as handle:
        assert json.load(handle) == {"a": [1, 2]}  # plain JSON, readable by anything


def test_equal_sets_give_equal_hashes_whatever_their_order(roundtrip: RoundTrip) -> None:
    # Built in different orders, so their iteration order may differ; the bytes may not.
    forward = set()
    for word in ["alpha", "beta", "gamma", "delta", "epsilon"] * 3:
        forward.add(word)
    backward = set(reversed(["alpha", "beta", "gamma", "delta", "epsilon"]))
    backward.update(range(3))
    forward.update(reversed(range(3)))

    _, first = roundtrip(forward)
    _, second = roundtrip(backward)

    assert first.content_hash == second.content_hash


def test_different_values_give_different_hashes(roundtrip: RoundTrip) -> None:
    hashes = {roundtrip(value)[1].content_hash for value in [1, 1.0, "1", [1], (1,), True]}

    assert len(hashes) == 6


# -- containers holding other objects: stored element by element ------------------------


def test_list_with_plain_objects_is_stored_element_wise(
    roundtrip: RoundTrip, artifact_store: ArtifactStore, caplog: pytest.LogCaptureFixture
) -> None:
    value = [Box(1), 2, "three", Box([4])]

    loaded, saved = roundtrip(value)

    assert loaded == value and type(loaded) is list
    entries = artifact_store.listdir(saved.uri)
    assert MANIFEST_FILE in entries and {"0", "1", "2", "3"} <= set(entries)
    with artifact_store.open(artifact_store.join(saved.uri, MANIFEST_FILE)) as handle:
        manifest = json.load(handle)
    materializers = [e["materializer"].rsplit(".", 1)[-1] for e in manifest["items"]]
    # Only the Box elements are pickled; the built-in ones keep their JSON materializer.
    assert materializers == [
        "CloudpickleMaterializer",
        "BuiltInMaterializer",
        "BuiltInMaterializer",
        "CloudpickleMaterializer",
    ]
    assert "Box" in caplog.text


@pytest.mark.parametrize(
    "value",
    [
        (Box(1), "x"),
        {Box(1), 2},
        frozenset({Box("f")}),
        {"box": Box(1), "n": 2},
        {1: Box("int key"), (2, "t"): Box("tuple key")},
        [[Box("nested"), 1], {"k": (Box("deeper"),)}],
    ],
    ids=lambda v: type(v).__name__,
)
def test_element_wise_containers_keep_type_and_keys(roundtrip: RoundTrip, value: Any) -> None:
    loaded, _ = roundtrip(value)

    assert loaded == value and type(loaded) is type(value)


def test_element_wise_dict_keys_must_be_builtin(roundtrip: RoundTrip) -> None:
    from headrace.exceptions import MaterializerError

    with pytest.raises(MaterializerError, match="Dict keys must be built-in"):
        roundtrip({Box("key"): Box("value")})


def test_enum_members_inside_a_list_keep_their_class(roundtrip: RoundTrip) -> None:
    value = [Level.HIGH, Mode.FAST, Color.RED, 3]

    loaded, _ = roundtrip(value)

    assert loaded == value
    assert [type(v) for v in loaded] == [Level, Mode, Color, int]


# -- subclasses of built-in types ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [Color.RED, Color.BLUE, Level.HIGH, Mode.FAST, Perm.R, Perm.R | Perm.W],
    ids=lambda v: str(v.name),
)
def test_enum_members_round_trip(roundtrip: RoundTrip, value: enum.Enum) -> None:
    loaded, _ = roundtrip(value)

    assert loaded is value


def test_namedtuple_round_trips(roundtrip: RoundTrip) -> None:
    loaded, _ = roundtrip(Point(1, 2))

    assert loaded == Point(1, 2) and type(loaded) is Point and loaded.y == 2


@pytest.mark.parametrize(
    "value",
    [
        collections.OrderedDict([("b", 1), ("a", 2)]),
        collections.Counter("abracadabra"),
        collections.OrderedDict([("box", Box(1))]),  # element-wise, still an OrderedDict
    ],
    ids=lambda v: type(v).__name__,
)
def test_dict_subclasses_round_trip(roundtrip: RoundTrip, value: dict[Any, Any]) -> None:
    loaded, _ = roundtrip(value)

    assert loaded == value and type(loaded) is type(value)
    assert list(loaded) == list(value)  # order is kept


def test_defaultdict_comes_back_as_an_equal_dict(roundtrip: RoundTrip) -> None:
    value: collections.defaultdict[str, int] = collections.defaultdict(int, {"a": 1})

    loaded, _ = roundtrip(value)

    # The default factory is code, which JSON does not hold: documented, not silent loss
    # of data (the items are all there).
    assert loaded == {"a": 1} and type(loaded) is dict


# -- metadata --------------------------------------------------------------------------


def test_metadata_records_storage_size_and_length(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip([1, 2, 3])
    _, text = roundtrip("hello")

    with artifact_store.open(artifact_store.join(saved.uri, DATA_FILE), "rb") as handle:
        stored_bytes = len(handle.read())
    assert saved.metadata == {"storage_size": stored_bytes, "length": 3}
    assert saved.size == stored_bytes
    assert text.metadata["length"] == 5


def test_metadata_off_records_nothing(roundtrip: RoundTrip) -> None:
    _, saved = roundtrip([1, 2, 3], metadata=False)

    assert saved.metadata == {}
    assert saved.size > 0  # the size column is always recorded
