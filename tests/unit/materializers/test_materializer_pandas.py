"""pandas DataFrames and Series as Parquet: what is preserved, what is refused.

Preserved (asserted with ``assert_frame_equal`` / ``assert_series_equal``, which compare
values, dtypes, index and column labels): numeric widths, bool, strings, tz-aware
datetimes, timedeltas, categoricals, nullable integers; RangeIndex, named, MultiIndex and
datetime indexes; string, numeric, tuple, MultiIndex and mixed-type column labels;
``DataFrame.attrs``; a Series' name (any built-in value) and index. Not preserved: the
``freq`` of a DatetimeIndex. Refused: object columns of mixed types, duplicate columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from headrace.artifacts.saving import SavedArtifact
from headrace.exceptions import MaterializerError

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


def _frames() -> dict[str, pd.DataFrame]:
    dtypes = pd.DataFrame(
        {
            "i8": np.array([1, -2], dtype="int8"),
            "f4": np.array([1.5, np.nan], dtype="float32"),
            "b": [True, False],
            "s": ["x", "ÿ"],
            "dt": pd.to_datetime(["2024-01-01 00:00", "2024-06-30 12:00"]),
            "tz": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("Europe/Berlin"),
            "td": pd.to_timedelta([1, 90], unit="s"),
            "cat": pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True),
            "nullable": pd.array([1, None], dtype="Int64"),
        }
    )
    attrs = pd.DataFrame({"a": [1]})
    attrs.attrs["source"] = "sensor-7"
    return {
        "dtypes": dtypes,
        "range index": pd.DataFrame({"a": [1, 2]}, index=pd.RangeIndex(10, 14, 2)),
        "named index": pd.DataFrame({"a": [1]}, index=pd.Index(["row"], name="key")),
        "multi index": pd.DataFrame(
            {"v": [1.0, 2.0]},
            index=pd.MultiIndex.from_tuples([(1, "x"), (2, "y")], names=["n", "s"]),
        ),
        "int columns": pd.DataFrame({0: [1], 1: [2]}),
        "mixed columns": pd.DataFrame({1: [1], "a": [2], 2.5: [3]}),
        "multi columns": pd.DataFrame(
            [[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
        ),
        "attrs": attrs,
        "empty": pd.DataFrame({"a": pd.Series([], dtype="float64")}),
        "no columns": pd.DataFrame(),
    }


FRAMES = _frames()


@pytest.mark.parametrize("frame", FRAMES.values(), ids=FRAMES.keys())
def test_dataframes_round_trip(roundtrip: RoundTrip, frame: pd.DataFrame) -> None:
    loaded, saved = roundtrip(frame)

    assert type(loaded) is pd.DataFrame
    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded.attrs == frame.attrs
    assert saved.materializer.endswith("PandasMaterializer")


SERIES = {
    "named": pd.Series([1, 2, 3], name="count"),
    "unnamed": pd.Series([1.5, None]),
    "int name": pd.Series(["a"], name=7),
    "tuple name": pd.Series([True], name=("level", 1)),
    "indexed": pd.Series([1, 2], index=pd.Index(["a", "b"], name="letter"), name="v"),
    "datetime index": pd.Series([1, 2], index=pd.DatetimeIndex(["2024-01-01", "2024-02-01"])),
    "categorical": pd.Series(pd.Categorical(["x", "y", "x"]), name="c"),
}


@pytest.mark.parametrize("series", SERIES.values(), ids=SERIES.keys())
def test_series_round_trip_with_name_and_index(roundtrip: RoundTrip, series: pd.Series) -> None:
    loaded, _ = roundtrip(series)

    assert type(loaded) is pd.Series
    pd.testing.assert_series_equal(loaded, series)
    assert loaded.name == series.name


def test_datetime_index_frequency_is_not_preserved(roundtrip: RoundTrip) -> None:
    frame = pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2024-01-01", periods=2))

    loaded, _ = roundtrip(frame)

    pd.testing.assert_frame_equal(loaded, frame, check_freq=False)
    assert loaded.index.freq is None  # documented: Parquet keeps values, not the freq


def test_metadata_records_rows_shape_and_dtypes(roundtrip: RoundTrip) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})

    _, saved = roundtrip(frame)
    _, series = roundtrip(pd.Series([1.0, 2.0]))

    assert saved.metadata["rows"] == 3
    assert saved.metadata["shape"] == [3, 2]
    assert saved.metadata["dtype"]["a"] == "int64"
    assert set(saved.metadata["dtype"]) == {"a", "b"}
    assert saved.metadata["storage_size"] == saved.size
    assert series.metadata["rows"] == 2 and series.metadata["dtype"] == "float64"


def test_equal_frames_equal_hashes(roundtrip: RoundTrip) -> None:
    first = roundtrip(pd.DataFrame({"a": [1, 2]}))[1].content_hash

    assert roundtrip(pd.DataFrame({"a": [1, 2]}))[1].content_hash == first
    assert roundtrip(pd.DataFrame({"a": [1, 3]}))[1].content_hash != first


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (pd.DataFrame({"m": [1, "a"]}), "column m"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "Duplicate column names"),
    ],
    ids=["mixed object column", "duplicate columns"],
)
def test_unstorable_frames_fail_with_a_clear_message(
    roundtrip: RoundTrip, frame: pd.DataFrame, problem: str
) -> None:
    with pytest.raises(MaterializerError, match="cannot be stored as Parquet") as info:
        roundtrip(frame)

    assert problem in str(info.value)
