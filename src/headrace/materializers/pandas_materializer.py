"""pandas DataFrames and Series as Parquet (through pyarrow), never pickled.

What round-trips (pyarrow keeps pandas' own metadata in the Parquet file): values and
dtypes (numeric widths, bool, string, datetime with time zone, timedelta, categorical,
nullable ``Int64``...), the index (``RangeIndex``, named, ``MultiIndex``, datetime), column
labels (strings, numbers, tuples / ``MultiIndex`` columns) and ``DataFrame.attrs``. A Series
keeps its name and index. What does not: the ``freq`` of a ``DatetimeIndex``, and columns
of mixed Python objects, which Parquet cannot type; those fail with an error naming the
column. Column labels of mixed types (``[1, "a"]``) would come back as strings from
Parquet, so headrace records them and restores them on load.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pandas as pd

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.materializers.built_in_materializer import _NotBuiltInError, decode, encode

DATA_FILE = "data.parquet"
INFO_FILE = "pandas.json"
SERIES_COLUMN = "__series__"


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise MaterializerError(
            "Storing pandas objects needs pyarrow: pip install 'headrace[pandas]'."
        ) from exc


def _encoded_or_str(value: Any) -> Any:
    """A label as tagged JSON, or its string form if it is not a built-in value."""
    try:
        return encode(value)
    except _NotBuiltInError:
        return str(value)


class PandasMaterializer(BaseMaterializer):
    """``pandas.DataFrame`` and ``pandas.Series``."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (pd.DataFrame, pd.Series)

    def save(self, data: Any) -> None:
        _require_pyarrow()
        is_series = isinstance(data, pd.Series)
        frame = data.to_frame(name=SERIES_COLUMN) if is_series else data
        info: dict[str, Any] = {"series": is_series}
        if is_series:
            info["name"] = _encoded_or_str(data.name)
        labels = list(frame.columns)
        mixed = len({type(label) for label in labels}) > 1
        if mixed and not isinstance(frame.columns, pd.MultiIndex):
            # Parquet stores one label type; keep the real ones to put back on load.
            info["columns"] = [_encoded_or_str(label) for label in labels]
            frame = frame.set_axis([str(label) for label in labels], axis=1)
        try:
            with self.artifact_store.open(self.join(DATA_FILE), "wb") as handle:
                frame.to_parquet(handle)
        except (ValueError, TypeError, ImportError) as exc:  # pyarrow errors subclass these
            raise MaterializerError(
                f"This pandas {type(data).__name__} cannot be stored as Parquet: {exc}. Give "
                "each column a single type (e.g. df[col].astype(str)) and unique names, or "
                "pass a custom materializer with output_materializers=."
            ) from exc
        with self.artifact_store.open(self.join(INFO_FILE), "w") as handle:
            json.dump(info, handle)

    def load(self, data_type: type[Any]) -> Any:
        _require_pyarrow()
        with self.artifact_store.open(self.join(INFO_FILE), "r") as handle:
            info = json.load(handle)
        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            frame = pd.read_parquet(handle)
        if "columns" in info:
            frame.columns = pd.Index([decode(label) for label in info["columns"]], dtype=object)
        if info.get("series"):
            series = frame[SERIES_COLUMN]
            series.name = decode(info.get("name"))
            return series
        return frame

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {"shape": list(data.shape), "rows": len(data)}
        if isinstance(data, pd.DataFrame):
            metadata["dtype"] = {str(c): str(t) for c, t in data.dtypes.items()}
        else:
            metadata["dtype"] = str(data.dtype)
        return metadata
