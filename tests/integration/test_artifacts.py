"""Artifacts through real pipeline runs: materializers, atomic saves, metadata, versions.

Every test runs pipelines on the local orchestrator against a fresh repository (real
SQLite, real artifact files), then reads the results back the way a user does.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from headrace import ExecutionStatus, pipeline, step
from headrace.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from headrace.artifacts.utils import load_artifact, save_artifact
from headrace.client import Client
from headrace.exceptions import (
    EntityExistsError,
    EntityNotFoundError,
    MaterializerError,
    RunFailedError,
    StoreError,
)
from headrace.io import fileio
from headrace.materializers import BaseMaterializer
from headrace.materializers.built_in_materializer import BuiltInMaterializer

# -- values of every kind ----------------------------------------------------------------


class Settings(BaseModel):
    name: str
    layers: list[int]


class Run(BaseModel):
    settings: Settings
    scores: dict[str, float]


@dataclasses.dataclass
class Split:
    train: list[int]
    test: list[int]


@dataclasses.dataclass
class Plan:
    split: Split
    seed: int = 0


class Opaque:
    """No materializer is registered for it: it is pickled."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


def _values() -> dict[str, Any]:
    return {
        "int": 42,
        "float": 2.5,
        "nan": math.nan,
        "bool": True,
        "str": "héllo ✓",
        "none": None,
        "bytes": b"\x00\xff",
        "nested": {"a": [1, (2, 3)], 4: {"set": {5, 6}}, (7, 8): frozenset({"x"})},
        "mixed list": [Opaque(1), 2, Settings(name="s", layers=[1])],
        "pydantic": Run(settings=Settings(name="m", layers=[8, 4]), scores={"acc": 0.9}),
        "dataclass": Plan(split=Split(train=[1, 2], test=[3]), seed=7),
        "numpy": np.arange(6, dtype=np.float32).reshape(2, 3),
        "dataframe": pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}, index=pd.Index([10, 20])),
        "series": pd.Series([1.5, 2.5], name="s"),
        "pickled": Opaque(5),
    }


VALUES = _values()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b)) and a.dtype == b.dtype
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return True
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
        return True
    return bool(a == b) and type(a) is type(b)


@step
def produce(kind: str) -> Any:
    return _values()[kind]


@step
def consume(value: Any, kind: str) -> bool:
    # Mutable values reach this step loaded back from the artifact store.
    return _same(_values()[kind], value)


@pytest.mark.parametrize("kind", VALUES)
def test_each_kind_of_output_round_trips_through_a_run(repo: Path, kind: str) -> None:
    @pipeline(enable_cache=False)
    def kinds() -> None:
        consume(produce(kind), kind)

    run = kinds()

    assert _same(VALUES[kind], run.steps["produce"].output.load())
    assert run.steps["consume"].output.load() is True


@step
def write_file(root: str) -> Path:
    path = Path(root) / "report.txt"
    path.write_text("v1")
    return path


@step
def write_dir(root: str) -> Path:
    directory = Path(root) / "dataset"
    (directory / "nested").mkdir(parents=True)
    (directory / "a.csv").write_text("1,2")
    (directory / "nested" / "b.csv").write_text("3,4")
    return directory


@step
def change_received(directory: Path) -> str:
    (directory / "a.csv").write_text("changed downstream")
    return str(directory)


def test_path_outputs_are_copied_in_and_load_as_independent_copies(
    repo: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    @pipeline(enable_cache=False)
    def paths() -> None:
        write_file(str(scratch))
        change_received(write_dir(str(scratch)))

    run = paths()
    (scratch / "report.txt").write_text("changed at the source")

    report = run.steps["write_file"].output.load()
    assert report.read_text() == "v1" and report != scratch / "report.txt"
    received = Path(run.steps["change_received"].output.load())
    assert received != scratch / "dataset"
    stored = run.steps["write_dir"].output.load()
    assert (stored / "a.csv").read_text() == "1,2"  # the downstream change stayed local
    assert (stored / "nested" / "b.csv").read_text() == "3,4"
    assert (scratch / "dataset" / "a.csv").read_text() == "1,2"


# -- custom materializers chosen with output_materializers= ---------------------------------

CALLS: list[tuple[str, str]] = []
_CALLS_LOCK = threading.Lock()


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class CelsiusMaterializer(BaseMaterializer):
    """Writes with fileio, the way materializers ported from ZenML do."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Celsius,)
    SKIP_REGISTRATION: ClassVar[bool] = True  # only where a step asks for it

    def save(self, data: Celsius) -> None:
        with _CALLS_LOCK:
            CALLS.append(("save", type(self).__name__))
        with fileio.open(os.path.join(self.uri, "celsius.txt"), "w") as handle:
            handle.write(f"{data.degrees}°C")

    def load(self, data_type: type[Any]) -> Celsius:
        with _CALLS_LOCK:
            CALLS.append(("load", type(self).__name__))
        with fileio.open(os.path.join(self.uri, "celsius.txt")) as handle:
            return Celsius(float(handle.read().removesuffix("°C")))


class ShoutingStr(BaseMaterializer):
    """Stores a string upper-cased: visible proof that this materializer ran."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (str,)
    SKIP_REGISTRATION: ClassVar[bool] = True

    def save(self, data: str) -> None:
        with _CALLS_LOCK:
            CALLS.append(("save", type(self).__name__))
        with self.artifact_store.open(self.join("text.txt"), "w") as handle:
            handle.write(data.upper())

    def load(self, data_type: type[Any]) -> str:
        with _CALLS_LOCK:
            CALLS.append(("load", type(self).__name__))
        with self.artifact_store.open(self.join("text.txt")) as handle:
            return handle.read()


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    CALLS.clear()
    return CALLS


@step(output_materializers=CelsiusMaterializer)
def measure() -> Celsius:
    return Celsius(21.5)


@step
def warmer(reading: Celsius) -> float:
    return reading.degrees + 1


@step(output_materializers=[ShoutingStr, CelsiusMaterializer])
def reading_and_label(label: str) -> tuple[Annotated[Celsius, "reading"], Annotated[str, "label"]]:
    return Celsius(-3.0), label


@step(output_materializers={"label": ShoutingStr})
def labelled(label: str) -> tuple[Annotated[str, "label"], Annotated[str, "plain"]]:
    return label, label


def test_one_materializer_class_for_a_step(repo: Path, calls: list[tuple[str, str]]) -> None:
    @pipeline(enable_cache=False)
    def thermometer() -> None:
        warmer(measure())

    run = thermometer()

    version = run.steps["measure"].output
    assert version.materializer.endswith(".CelsiusMaterializer")
    assert version.data_type.endswith(".Celsius")
    assert run.steps["warmer"].output.load() == 22.5  # the downstream step loaded it
    assert version.load().degrees == 21.5
    assert calls == [
        ("save", "CelsiusMaterializer"),
        ("load", "CelsiusMaterializer"),
        ("load", "CelsiusMaterializer"),
    ]
    with open(os.path.join(version.uri, "celsius.txt"), encoding="utf-8") as handle:
        assert handle.read() == "21.5°C"


def test_a_list_of_materializers_picks_the_first_that_fits_each_output(
    repo: Path, calls: list[tuple[str, str]]
) -> None:
    @pipeline(enable_cache=False)
    def both() -> None:
        reading_and_label("cold")

    outputs = both().steps["reading_and_label"].outputs

    assert outputs["reading"][0].materializer.endswith(".CelsiusMaterializer")
    assert outputs["label"][0].materializer.endswith(".ShoutingStr")
    assert outputs["reading"][0].load().degrees == -3.0
    assert outputs["label"][0].load() == "COLD"
    assert sorted(calls) == sorted(
        [
            ("save", "CelsiusMaterializer"),
            ("save", "ShoutingStr"),
            ("load", "CelsiusMaterializer"),
            ("load", "ShoutingStr"),
        ]
    )


def test_a_dict_picks_a_materializer_per_output_name(
    repo: Path, calls: list[tuple[str, str]]
) -> None:
    @pipeline(enable_cache=False)
    def named() -> None:
        labelled("quiet")

    outputs = named().steps["labelled"].outputs

    assert outputs["label"][0].materializer.endswith(".ShoutingStr")
    assert outputs["plain"][0].materializer == (
        f"{BuiltInMaterializer.__module__}.{BuiltInMaterializer.__qualname__}"
    )
    assert outputs["label"][0].load() == "QUIET"
    assert outputs["plain"][0].load() == "quiet"
    assert calls == [("save", "ShoutingStr"), ("load", "ShoutingStr")]


def test_a_materializer_that_cannot_handle_the_output_fails_the_step(repo: Path) -> None:
    @step(output_materializers=CelsiusMaterializer)
    def wrong() -> int:
        return 1

    @pipeline(enable_cache=False)
    def mismatch() -> None:
        wrong()

    with pytest.raises(RunFailedError) as info:
        mismatch()

    assert isinstance(info.value.__cause__, MaterializerError)
    assert "CelsiusMaterializer" in str(info.value.__cause__)
    assert "builtins.int" in str(info.value.__cause__)


# -- a failing save leaves nothing behind ------------------------------------------------


class BrokenMaterializer(BaseMaterializer):
    """Writes part of its files, then fails."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (str,)
    SKIP_REGISTRATION: ClassVar[bool] = True

    def save(self, data: str) -> None:
        with self.artifact_store.open(self.join("part-1.txt"), "w") as handle:
            handle.write(data)
        raise OSError("quota exceeded")

    def load(self, data_type: type[Any]) -> str:
        raise AssertionError("never stored")


@step
def first() -> list[int]:
    return [1, 2, 3]


@step(output_materializers={"bad": BrokenMaterializer})
def half(numbers: list[int]) -> tuple[Annotated[list[int], "good"], Annotated[str, "bad"]]:
    return numbers, "never stored"


def _files_below(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_failing_save_fails_the_step_and_leaves_no_files(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def breaks() -> None:
        half(first())

    with pytest.raises(RunFailedError, match="half") as info:
        breaks()

    cause = info.value.__cause__
    assert isinstance(cause, MaterializerError)
    assert "'half'" in str(cause) and "'bad'" in str(cause) and "quota exceeded" in str(cause)

    run = Client().get_pipeline("breaks").last_run
    assert run.status is ExecutionStatus.FAILED
    failed = run.steps["half"]
    assert failed.status is ExecutionStatus.FAILED and failed.outputs == {}
    assert failed.error is not None and "storing output 'bad' failed" in failed.error.message

    earlier = run.steps["first"].output
    run_directory = Path(earlier.uri).parent
    assert run_directory.name == run.id
    # Only the earlier step's output is on disk: nothing of "half", not even "good".
    assert all(name.startswith("first.") for name in _files_below(run_directory))
    assert not [p for p in run_directory.rglob("*") if ".tmp-" in p.name]
    assert earlier.load() == [1, 2, 3]


# -- metadata ------------------------------------------------------------------------------


@step
def arrays() -> tuple[
    Annotated[np.ndarray, "matrix"],
    Annotated[pd.DataFrame, "frame"],
    Annotated[pd.Series, "column"],
    Annotated[str, "text"],
]:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]})
    return np.zeros((3, 4), dtype=np.int16), frame, frame["b"], "abc"


def test_artifact_metadata_records_size_shape_dtype_rows(repo: Path) -> None:
    @pipeline(enable_cache=False, enable_artifact_metadata=True)
    def with_metadata() -> None:
        arrays()

    outputs = with_metadata().steps["arrays"].outputs

    matrix = outputs["matrix"][0]
    assert matrix.metadata["storage_size"] == matrix.size > 3 * 4 * 2
    assert matrix.metadata["shape"] == [3, 4] and matrix.metadata["dtype"] == "int16"
    frame = outputs["frame"][0].metadata
    assert frame["rows"] == 3 and frame["shape"] == [3, 2]
    assert frame["dtype"] == {"a": "int64", "b": "float64"}
    assert frame["storage_size"] == outputs["frame"][0].size
    column = outputs["column"][0].metadata
    assert column["rows"] == 3 and column["shape"] == [3] and column["dtype"] == "float64"
    assert outputs["text"][0].metadata["storage_size"] == len('"abc"')


def test_artifact_metadata_disabled_records_none(repo: Path) -> None:
    @pipeline(enable_cache=False, enable_artifact_metadata=False)
    def without_metadata() -> None:
        arrays()

    outputs = without_metadata().steps["arrays"].outputs

    for name in ["matrix", "frame", "column", "text"]:
        metadata = outputs[name][0].metadata
        assert not {"storage_size", "shape", "dtype", "rows"} & set(metadata), name
        assert outputs[name][0].size > 0  # the version's size is always recorded


def test_step_level_metadata_setting_wins(repo: Path) -> None:
    @pipeline(enable_cache=False, enable_artifact_metadata=True)
    def overridden() -> None:
        arrays.with_options(enable_artifact_metadata=False)()

    outputs = overridden().steps["arrays"].outputs

    assert "shape" not in outputs["matrix"][0].metadata


# -- content hashes and version numbers ---------------------------------------------------


@step
def echo(value: int) -> dict[str, Any]:
    return {"value": value, "items": list(range(value))}


@pipeline(enable_cache=False)
def echo_pipeline(value: int = 1) -> None:
    echo(value)


def test_content_hash_follows_the_value_across_runs(repo: Path) -> None:
    first_run = echo_pipeline(value=3)
    second_run = echo_pipeline(value=3)
    third_run = echo_pipeline(value=4)

    hashes = [r.steps["echo"].output.content_hash for r in (first_run, second_run, third_run)]
    uris = [r.steps["echo"].output.uri for r in (first_run, second_run, third_run)]

    assert hashes[0] == hashes[1] != hashes[2]
    assert len(set(uris)) == 3  # stored once per run all the same


def test_versions_of_an_artifact_are_numbered_and_immutable(repo: Path) -> None:
    runs = [echo_pipeline(value=v) for v in (1, 2, 3)]

    versions = Client().list_artifact_versions(
        artifact_name="echo_pipeline::echo::output", sort_by="asc:created"
    )

    assert [v.version for v in versions] == ["1", "2", "3"]
    assert [v.load()["value"] for v in versions] == [1, 2, 3]
    assert [v.producer_step_run_id for v in versions] == [r.steps["echo"].id for r in runs]
    assert len({v.artifact_id for v in versions}) == 1
    version = versions[0]
    assert version.uri and version.materializer and version.data_type == "builtins.dict"
    assert version.content_hash.startswith("blake3:") and version.size > 0
    assert Client().get_artifact_version("echo_pipeline::echo::output", 2).id == versions[1].id


# -- save_artifact / load_artifact -----------------------------------------------------------


def test_save_and_load_artifact_by_name_and_version(repo: Path) -> None:
    first_version = save_artifact({"lr": 0.1}, name="config")
    second_version = save_artifact({"lr": 0.01}, name="config")

    assert (first_version.version, second_version.version) == ("1", "2")
    assert load_artifact("config") == {"lr": 0.01}
    assert load_artifact("config", version=1) == {"lr": 0.1}
    assert load_artifact("config", version="2") == {"lr": 0.01}
    assert load_artifact(first_version.id) == {"lr": 0.1}
    assert first_version.producer_step_run_id is None


def test_save_artifact_with_explicit_version_names(repo: Path) -> None:
    save_artifact(np.arange(3), name="weights", version="baseline")
    save_artifact(np.arange(4), name="weights", version="tuned", tags=["best"])

    assert load_artifact("weights", version="baseline").tolist() == [0, 1, 2]
    tuned = Client().get_artifact_version("weights", "tuned")
    assert tuned.tags == ["best"] and tuned.metadata["shape"] == [4]
    assert load_artifact("weights").tolist() == [0, 1, 2, 3]  # latest


def test_reusing_a_version_name_is_refused_and_writes_nothing(repo: Path) -> None:
    original = save_artifact("first", name="notes", version="v1")
    artifacts_root = Path(original.uri).parent
    files_before = _files_below(artifacts_root)

    with pytest.raises(EntityExistsError, match="'v1'") as info:
        save_artifact("second", name="notes", version="v1")

    assert "notes" in str(info.value)
    assert load_artifact("notes", version="v1") == "first"
    assert _files_below(artifacts_root) == files_before


def test_numeric_version_names_are_refused(repo: Path) -> None:
    with pytest.raises(StoreError, match="number"):
        save_artifact(1, name="counted", version=5)


def test_loading_an_unknown_artifact_names_it(repo: Path) -> None:
    save_artifact(1, name="known")

    with pytest.raises(EntityNotFoundError, match="unknown"):
        load_artifact("unknown")
    with pytest.raises(EntityNotFoundError, match="'v9'"):
        load_artifact("known", version="v9")


# -- inside steps --------------------------------------------------------------------------


@step
def make_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2]})


@step
def inspect_artifact(frame: UnmaterializedArtifact) -> dict[str, Any]:
    return {
        "is_unmaterialized": isinstance(frame, UnmaterializedArtifact),
        "id": frame.id,
        "uri": frame.uri,
        "data_type": frame.data_type,
        "materializer": frame.materializer,
    }


@step
def load_by_id(artifact_id: str) -> int:
    frame = load_artifact(artifact_id)
    return int(frame["a"].sum())


def test_unmaterialized_input_receives_the_artifact_version(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def unmaterialized() -> None:
        inspect_artifact(make_frame())

    run = unmaterialized()

    seen = run.steps["inspect_artifact"].output.load()
    produced = run.steps["make_frame"].output
    assert seen == {
        "is_unmaterialized": True,
        "id": produced.id,
        "uri": produced.uri,
        "data_type": "pandas.DataFrame",
        "materializer": produced.materializer,
    }
    assert produced.data_type == "pandas.DataFrame"


def test_load_artifact_by_version_id_inside_a_step(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def producer() -> None:
        make_frame()

    artifact_id = producer().steps["make_frame"].output.id

    @pipeline(enable_cache=False)
    def consumer(artifact_id: str) -> None:
        load_by_id(artifact_id)

    run = consumer(artifact_id=artifact_id)

    assert run.steps["load_by_id"].output.load() == 3


@step
def save_inside() -> str:
    version = save_artifact([1, 2], name="made-in-step")
    return version.id


def test_save_artifact_inside_a_step(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def saver() -> None:
        save_inside()

    version_id = saver().steps["save_inside"].output.load()

    assert load_artifact(version_id) == [1, 2]
    assert load_artifact("made-in-step") == [1, 2]


# -- cloudpickled outputs --------------------------------------------------------------------


@step
def pickled() -> Opaque:
    return Opaque(9)


def test_pickled_output_records_python_version_and_warns(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    @pipeline(enable_cache=False)
    def pickles() -> None:
        pickled()

    version = pickles().steps["pickled"].output

    assert version.materializer.endswith("CloudpickleMaterializer")
    assert version.python_version == ".".join(map(str, sys.version_info[:3]))
    assert f"{__name__}.Opaque" in caplog.text
    assert version.load() == Opaque(9)
    with open(os.path.join(version.uri, "python_version.txt"), encoding="utf-8") as handle:
        assert handle.read() == version.python_version
    assert json.dumps(version.metadata)  # metadata stays JSON


# -- a whole run on an fsspec (memory://) artifact store ------------------------------------


@pytest.fixture
def memory_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A store whose default stack keeps its artifacts under a ``memory://`` root."""
    import uuid

    from headrace.store.factory import forget_stores, get_store

    root = f"memory://headrace-run-{uuid.uuid4().hex}"
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEADRACE_STORE_URL", url)
    get_store(url, root).get_default_stack()
    try:
        yield root
    finally:
        forget_stores()
        if fileio.exists(root):
            fileio.rmtree(root)


@step
def memory_values() -> tuple[
    Annotated[np.ndarray, "array"],
    Annotated[pd.DataFrame, "frame"],
    Annotated[dict[str, Any], "mapping"],
    Annotated[Celsius, "reading"],
]:
    return np.eye(2), pd.DataFrame({"a": [1.0]}), {"k": (1, 2), 3: [Opaque(4)]}, Celsius(5.0)


@step
def total_of(array: np.ndarray, frame: pd.DataFrame, reading: Celsius) -> float:
    return float(array.sum() + frame["a"].sum() + reading.degrees)


def test_a_run_on_a_memory_artifact_store(memory_store: str) -> None:
    @pipeline(enable_cache=False)
    def in_memory() -> None:
        array, frame, _mapping, reading = memory_values.with_options(
            output_materializers={"reading": CelsiusMaterializer}
        )()
        total_of(array, frame, reading)

    run = in_memory()

    outputs = run.steps["memory_values"].outputs
    assert all(v[0].uri.startswith(memory_store + "/runs/") for v in outputs.values())
    np.testing.assert_array_equal(outputs["array"][0].load(), np.eye(2))
    pd.testing.assert_frame_equal(outputs["frame"][0].load(), pd.DataFrame({"a": [1.0]}))
    assert outputs["mapping"][0].load() == {"k": (1, 2), 3: [Opaque(4)]}
    assert outputs["reading"][0].load().degrees == 5.0
    assert outputs["reading"][0].materializer.endswith(".CelsiusMaterializer")
    assert run.steps["total_of"].output.load() == 8.0
    run_files = fileio.glob(f"{memory_store}/runs/{run.id}/**")
    assert run_files and not [p for p in run_files if ".tmp-" in p]


@pytest.mark.usefixtures("artifacts_as_files")  # checks the files themselves
def test_a_failed_save_on_a_memory_store_leaves_nothing(memory_store: str) -> None:
    @pipeline(enable_cache=False)
    def breaks_in_memory() -> None:
        half(first())

    with pytest.raises(RunFailedError):
        breaks_in_memory()

    run = Client().get_pipeline("breaks_in_memory").last_run
    files = [p for p in fileio.glob(f"{memory_store}/runs/{run.id}/**") if not fileio.isdir(p)]
    assert files and all(f"/runs/{run.id}/first.output/" in p for p in files)
    assert run.steps["first"].output.load() == [1, 2, 3]
