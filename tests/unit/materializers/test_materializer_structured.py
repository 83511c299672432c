"""Pydantic models and dataclasses round-trip as JSON, nested ones included."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import SavedArtifact
from headrace.exceptions import MaterializerError

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


class Kind(enum.Enum):
    A = "a"
    B = "b"


class Address(BaseModel):
    street: str
    zip: int | None = None


class Person(BaseModel):
    name: str
    age: int
    address: Address
    previous: list[Address] = []
    tags: set[str] = set()
    scores: dict[str, float] = {}
    pair: tuple[int, str] = (0, "")
    kind: Kind = Kind.A
    born: dt.date | None = None


class Employee(Person):
    """A subclass of a model: found through the MRO, loaded as itself."""

    team: str


@dataclasses.dataclass(frozen=True)
class Range:
    low: float
    high: float


@dataclasses.dataclass
class Experiment:
    name: str
    ranges: list[Range]
    best: Range | None = None
    params: dict[str, int] = dataclasses.field(default_factory=dict)
    seed: tuple[int, int] = (1, 2)
    when: dt.datetime | None = None


class Opaque:
    """Something pydantic has no schema for."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


@dataclasses.dataclass
class HoldsOpaque:
    thing: Opaque


def _name(saved: SavedArtifact) -> str:
    return saved.materializer.rsplit(".", 1)[-1]


def test_nested_pydantic_model_round_trips(roundtrip: RoundTrip) -> None:
    person = Person(
        name="Ada",
        age=36,
        address=Address(street="Main 1", zip=1234),
        previous=[Address(street="Old 2")],
        tags={"math", "code"},
        scores={"x": 1.5},
        pair=(7, "seven"),
        kind=Kind.B,
        born=dt.date(1815, 12, 10),
    )

    loaded, saved = roundtrip(person)

    assert loaded == person and type(loaded) is Person
    assert type(loaded.address) is Address and loaded.pair == (7, "seven")
    assert _name(saved) == "PydanticMaterializer"


def test_pydantic_subclass_loads_as_the_subclass(roundtrip: RoundTrip) -> None:
    employee = Employee(name="B", age=1, address=Address(street="s"), team="ml")

    loaded, _ = roundtrip(employee)

    assert type(loaded) is Employee and loaded.team == "ml"


def test_pydantic_model_is_stored_as_readable_json(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(Address(street="Ünïcode 5"))

    with artifact_store.open(artifact_store.join(saved.uri, "data.json")) as handle:
        assert json.load(handle) == {"street": "Ünïcode 5", "zip": None}


def test_pydantic_model_with_unserialisable_field_fails_clearly(roundtrip: RoundTrip) -> None:
    class Loose(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        thing: Opaque

    with pytest.raises(MaterializerError, match="Loose cannot be written as JSON"):
        roundtrip(Loose(thing=Opaque(1)))


def test_nested_dataclass_round_trips(roundtrip: RoundTrip) -> None:
    experiment = Experiment(
        name="e1",
        ranges=[Range(0, 1), Range(-1.5, 2)],
        best=Range(0.25, 0.5),
        params={"depth": 3},
        seed=(4, 2),
        when=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
    )

    loaded, saved = roundtrip(experiment)

    assert loaded == experiment and type(loaded) is Experiment
    assert type(loaded.ranges[0]) is Range and type(loaded.seed) is tuple
    assert _name(saved) == "DataclassMaterializer"


def test_dataclass_pydantic_cannot_describe_falls_back_to_cloudpickle(
    roundtrip: RoundTrip, caplog: pytest.LogCaptureFixture
) -> None:
    loaded, saved = roundtrip(HoldsOpaque(Opaque(3)))

    assert loaded == HoldsOpaque(Opaque(3))
    assert _name(saved) == "CloudpickleMaterializer"
    assert "HoldsOpaque" in caplog.text


def test_structured_value_needs_its_class_to_load(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(Range(1, 2))

    with pytest.raises(MaterializerError, match="class is not available"):
        load_value(
            uri=saved.uri,
            materializer=saved.materializer,
            data_type="no_such_module.Range",
            python_version_written=saved.python_version,
            artifact_store=artifact_store,
        )


def test_classes_defined_in_a_function_load_in_the_same_process(roundtrip: RoundTrip) -> None:
    # Their source has "<locals>" and cannot be imported; the process remembers them.
    @dataclasses.dataclass
    class Local:
        x: int

    class LocalModel(BaseModel):
        y: list[int]

    assert roundtrip(Local(1))[0] == Local(1)
    assert roundtrip(LocalModel(y=[1]))[0] == LocalModel(y=[1])
    assert roundtrip([Local(2), LocalModel(y=[])])[0] == [Local(2), LocalModel(y=[])]
