"""Choosing a materializer: by type along the MRO, user registrations, explicit candidates."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

import headrace.materializers
from headrace.artifacts.saving import SavedArtifact, materializer_for_value
from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.materializers.built_in_materializer import (
    BuiltInContainerMaterializer,
    BuiltInMaterializer,
    BytesMaterializer,
)
from headrace.materializers.cloudpickle_materializer import CloudpickleMaterializer
from headrace.materializers.dataclass_materializer import DataclassMaterializer
from headrace.materializers.numpy_materializer import NumpyMaterializer
from headrace.materializers.pandas_materializer import PandasMaterializer
from headrace.materializers.path_materializer import PathMaterializer
from headrace.materializers.pydantic_materializer import PydanticMaterializer
from headrace.materializers.registry import MaterializerRegistry, materializer_registry

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


class Celsius(float):
    """A subclass of a registered type, with no materializer of its own."""


class Temperature:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class Kelvin(Temperature):
    pass


class TemperatureMaterializer(BaseMaterializer):
    """A user materializer: defining it registers it for ``Temperature``."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Temperature,)

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join("t.json"), "w") as handle:
            json.dump({"degrees": data.degrees, "class": type(data).__name__}, handle)

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join("t.json")) as handle:
            return data_type(json.load(handle)["degrees"])


class Pressure:
    def __init__(self, value: float) -> None:
        self.value = value


class FirstPressureMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Pressure,)

    def save(self, data: Any) -> None:
        raise AssertionError("replaced by SecondPressureMaterializer")

    def load(self, data_type: type[Any]) -> Any:
        raise AssertionError("replaced by SecondPressureMaterializer")


class SecondPressureMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Pressure,)

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.join("p.txt"), "w") as handle:
            handle.write(repr(data.value))

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join("p.txt")) as handle:
            return data_type(float(handle.read()))


class TweakedBuiltIn(BuiltInMaterializer):
    """Inherits ASSOCIATED_TYPES without declaring them: must not take over ``int``."""


class Model(BaseModel):
    x: int


@dataclasses.dataclass
class Record:
    x: int


@pytest.mark.parametrize(
    ("data_type", "expected"),
    [
        (int, BuiltInMaterializer),
        (bool, BuiltInMaterializer),
        (float, BuiltInMaterializer),
        (str, BuiltInMaterializer),
        (type(None), BuiltInMaterializer),
        (bytes, BytesMaterializer),
        (list, BuiltInContainerMaterializer),
        (tuple, BuiltInContainerMaterializer),
        (dict, BuiltInContainerMaterializer),
        (set, BuiltInContainerMaterializer),
        (frozenset, BuiltInContainerMaterializer),
        (Model, PydanticMaterializer),
        (Record, DataclassMaterializer),
        (Path, PathMaterializer),
        (PurePosixPath, PathMaterializer),
        (np.ndarray, NumpyMaterializer),
        (np.float64, NumpyMaterializer),  # a float subclass: numpy's own comes first
        (pd.DataFrame, PandasMaterializer),
        (pd.Series, PandasMaterializer),
        (Temperature, TemperatureMaterializer),
        (object, CloudpickleMaterializer),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_default_materializer_by_type(data_type: type, expected: type) -> None:
    assert materializer_registry.default_for(data_type) is expected


def test_subclass_of_a_registered_type_uses_the_base_materializer(roundtrip: RoundTrip) -> None:
    assert materializer_registry.default_for(Celsius) is BuiltInMaterializer
    assert materializer_registry.default_for(Kelvin) is TemperatureMaterializer

    loaded, _ = roundtrip(Celsius(21.5))
    kelvin, saved = roundtrip(Kelvin(300.0))

    assert loaded == 21.5 and type(loaded) is Celsius
    assert type(kelvin) is Kelvin and kelvin.degrees == 300.0
    assert saved.materializer.endswith("TemperatureMaterializer")


def test_last_registered_materializer_wins(roundtrip: RoundTrip) -> None:
    assert materializer_registry.default_for(Pressure) is SecondPressureMaterializer

    loaded, _ = roundtrip(Pressure(1.5))

    assert loaded.value == 1.5


def test_a_subclass_that_only_inherits_types_does_not_register() -> None:
    assert TweakedBuiltIn.ASSOCIATED_TYPES == BuiltInMaterializer.ASSOCIATED_TYPES
    assert materializer_registry.default_for(int) is BuiltInMaterializer


def test_skip_registration_keeps_a_materializer_out_of_the_defaults() -> None:
    class Widget:
        pass

    class ExplicitOnly(BaseMaterializer):
        ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Widget,)
        SKIP_REGISTRATION: ClassVar[bool] = True

        def save(self, data: Any) -> None: ...

        def load(self, data_type: type[Any]) -> Any: ...

    assert materializer_registry.find(Widget) is None
    assert materializer_for_value(Widget(), [ExplicitOnly]) is ExplicitOnly


def test_headrace_materializers_never_replace_a_users_registration() -> None:
    registry = MaterializerRegistry()

    registry.register((pd.DataFrame,), TemperatureMaterializer)
    registry.register((pd.DataFrame, pd.Series), PandasMaterializer)  # e.g. imported lazily

    assert registry.find(pd.DataFrame) is TemperatureMaterializer
    assert registry.find(pd.Series) is PandasMaterializer


def test_user_materializer_registered_before_pandas_is_first_used(tmp_path: Path) -> None:
    # A fresh interpreter, where headrace's pandas materializer is imported only when the
    # first DataFrame is looked up, which is after the user's registration.
    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import pandas as pd
            from headrace.materializers import BaseMaterializer
            from headrace.materializers.registry import materializer_registry

            assert "headrace.materializers.pandas_materializer" not in sys.modules

            class CsvMaterializer(BaseMaterializer):
                ASSOCIATED_TYPES = (pd.DataFrame,)
                def save(self, data): ...
                def load(self, data_type): ...

            print(materializer_registry.default_for(pd.DataFrame).__name__)
            print(materializer_registry.default_for(pd.Series).__name__)
            """
        )
    )

    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.split() == ["CsvMaterializer", "PandasMaterializer"]


def test_base_materializer_is_importable_from_both_modules() -> None:
    assert headrace.materializers.BaseMaterializer is BaseMaterializer
    assert headrace.materializers.PandasMaterializer is PandasMaterializer
    assert headrace.materializers.BuiltInMaterializer is BuiltInMaterializer
    with pytest.raises(AttributeError, match="NoSuchMaterializer"):
        _ = headrace.materializers.NoSuchMaterializer


# -- explicit candidates (output_materializers=) ------------------------------------------


def test_first_candidate_that_handles_the_type_is_chosen() -> None:
    candidates = [TemperatureMaterializer, BuiltInMaterializer, SecondPressureMaterializer]

    assert materializer_for_value(3, candidates) is BuiltInMaterializer
    assert materializer_for_value(Pressure(1), candidates) is SecondPressureMaterializer


def test_candidate_without_types_accepts_anything() -> None:
    class Anything(BaseMaterializer):
        def save(self, data: Any) -> None: ...

        def load(self, data_type: type[Any]) -> Any: ...

    assert materializer_for_value(Temperature(1), [Anything]) is Anything


def test_candidate_with_its_own_type_check_is_asked() -> None:
    # Declares no types but decides by kind: naming it does not make it accept anything.
    assert materializer_for_value(Record(1), [DataclassMaterializer]) is DataclassMaterializer
    with pytest.raises(MaterializerError, match="DataclassMaterializer"):
        materializer_for_value(Temperature(1), [DataclassMaterializer])


def test_no_candidate_handles_the_type() -> None:
    with pytest.raises(MaterializerError) as info:
        materializer_for_value("text", [NumpyMaterializer, PandasMaterializer])

    message = str(info.value)
    assert "NumpyMaterializer, PandasMaterializer" in message and "builtins.str" in message


# -- the custom materializer API -------------------------------------------------------------


class Notes:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines


class NotesMaterializer(BaseMaterializer):
    """For a library that only writes local files: a scratch directory, then copy_in."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Notes,)

    def save(self, data: Notes) -> None:
        with self.get_temporary_directory() as scratch:
            local = Path(scratch) / "notes.txt"
            local.write_text("\n".join(data.lines), encoding="utf-8")
            self.artifact_store.copy_in(str(local), self.join("notes.txt"))

    def load(self, data_type: type[Any]) -> Notes:
        with self.get_temporary_directory() as scratch:
            local = Path(scratch) / "notes.txt"
            self.artifact_store.copy_out(self.join("notes.txt"), str(local))
            return data_type(local.read_text(encoding="utf-8").split("\n"))

    def extract_metadata(self, data: Notes) -> dict[str, Any]:
        return {"lines": len(data.lines)}


def test_custom_materializer_with_a_local_scratch_directory(roundtrip: RoundTrip) -> None:
    loaded, saved = roundtrip(Notes(["first", "sécond"]))

    assert isinstance(loaded, Notes) and loaded.lines == ["first", "sécond"]
    assert saved.metadata == {"storage_size": saved.size, "lines": 2}
    assert saved.data_type == f"{__name__}.Notes"


def test_materializer_without_a_store_serves_its_uri_directly(tmp_path: Path) -> None:
    materializer = NotesMaterializer(str(tmp_path / "notes"))

    materializer.save(Notes(["a"]))

    assert (tmp_path / "notes" / "notes.txt").read_text(encoding="utf-8") == "a"
    assert NotesMaterializer(str(tmp_path / "notes")).load(Notes).lines == ["a"]
