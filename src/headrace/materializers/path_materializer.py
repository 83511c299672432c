"""``pathlib.Path``: the file or directory it points to is copied into the store.

Loading copies it back out to a fresh temporary location, so a step can change what it
received without touching the stored artifact.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path, PurePath
from typing import Any, ClassVar

from headrace.exceptions import MaterializerError
from headrace.materializers.base_materializer import BaseMaterializer

INFO_FILE = "path.json"
CONTENT = "content"


class PathMaterializer(BaseMaterializer):
    """A local file or directory."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = (Path, PurePath)
    LOADS_PLAIN_DATA: ClassVar[bool] = True  # the bytes are only copied out
    WRITES_THROUGH_STORE: ClassVar[bool] = True  # a directory's copy_in is noticed

    def save(self, data: Any) -> None:
        path = Path(data)
        if not path.exists():
            raise MaterializerError(f"Path output {str(path)!r} does not exist; nothing to store.")
        self.artifact_store.copy_in(str(path), self.join(CONTENT))
        info = {"name": path.name, "is_dir": path.is_dir()}
        self.artifact_store.write_bytes(self.join(INFO_FILE), json.dumps(info).encode())

    def load(self, data_type: type[Any]) -> Any:
        with self.artifact_store.open(self.join(INFO_FILE), "r") as handle:
            info = json.load(handle)
        target = Path(tempfile.mkdtemp(prefix="headrace-path-")) / (info["name"] or "content")
        self.artifact_store.copy_out(self.join(CONTENT), str(target))
        if info["is_dir"] and not target.is_dir():  # an empty directory was stored
            os.makedirs(target, exist_ok=True)
        return target

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        path = Path(data)
        if path.is_dir():
            return {"files": sum(len(f) for _, _, f in os.walk(path))}
        return {}
