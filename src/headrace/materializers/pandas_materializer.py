"""pandas DataFrames and Series as Parquet (through pyarrow)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pandas as pd

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

DATA_FILE = "data.parquet"
INFO_FILE = "pandas.json"


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise MaterializerError(
            "Storing pandas objects needs pyarrow: pip install 'headrace[pandas]'."
        ) from exc


class PandasMaterializer(BaseMaterializer):
    """``pandas.DataFrame`` and ``pandas.Series``."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (pd.DataFrame, pd.Series)

    def save(self, data: Any) -> None:
        _require_pyarrow()
        is_series = isinstance(data, pd.Series)
        frame = data.to_frame(name="__series__") if is_series else data
        if not is_series and not all(isinstance(c, str) for c in frame.columns):
            frame = frame.rename(columns=str)
            info_columns = [repr(type(c).__name__) for c in data.columns]
        else:
            info_columns = None
        info = {
            "series": is_series,
            "name": data.name if is_series else None,
            "column_types": info_columns,
        }
        with self.artifact_store.open(self.join(DATA_FILE), "wb") as handle:
            frame.to_parquet(handle)
        with self.artifact_store.open(self.join(INFO_FILE), "w") as handle:
            json.dump(info, handle, default=str)

    def load(self, data_type: type[Any]) -> Any:
        _require_pyarrow()
        with self.artifact_store.open(self.join(INFO_FILE), "r") as handle:
            info = json.load(handle)
        with self.artifact_store.open(self.join(DATA_FILE), "rb") as handle:
            frame = pd.read_parquet(handle)
        if info.get("series"):
            series = frame["__series__"]
            series.name = info.get("name")
            return series
        return frame

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {"shape": list(data.shape), "rows": len(data)}
        if isinstance(data, pd.DataFrame):
            metadata["dtype"] = {str(c): str(t) for c, t in data.dtypes.items()}
        else:
            metadata["dtype"] = str(data.dtype)
        return metadata
