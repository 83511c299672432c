"""Stores ``headrace.types`` strings in a file of their format, which is also their
visualization (an HTML page, a Markdown document, a CSV table, a JSON document)."""

from __future__ import annotations

from typing import Any, ClassVar

from headrace.enums import ArtifactType, VisualizationType
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.types import CSVString, HTMLString, JSONString, MarkdownString

_FILES: dict[type, tuple[str, VisualizationType]] = {
    HTMLString: ("output.html", VisualizationType.HTML),
    MarkdownString: ("output.md", VisualizationType.MARKDOWN),
    CSVString: ("output.csv", VisualizationType.CSV),
    JSONString: ("output.json", VisualizationType.JSON),
}


class StructuredStringMaterializer(BaseMaterializer):
    """Writes the string to ``output.<format>`` and records that file as its visualization."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = tuple(_FILES)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _file(self, data_type: type[Any]) -> tuple[str, VisualizationType]:
        for klass in getattr(data_type, "__mro__", ()):
            if klass in _FILES:
                return _FILES[klass]
        # The class could not be resolved when loading: find the file that was written.
        for name, kind in _FILES.values():
            if self.artifact_store.exists(self.join(name)):
                return name, kind
        raise FileNotFoundError(f"No structured string file below {self.uri}.")

    def load(self, data_type: type[Any]) -> Any:
        """Read the file back as ``data_type`` (one of the ``headrace.types`` strings)."""
        name, _ = self._file(data_type)
        with self.artifact_store.open(self.join(name), "r") as handle:
            text = handle.read()
        result_type = (
            data_type if isinstance(data_type, type) and issubclass(data_type, str) else str
        )
        return result_type(text)

    def save(self, data: Any) -> None:
        """Write the string to its format's file."""
        name, _ = self._file(type(data))
        with self.artifact_store.open(self.join(name), "w") as handle:
            handle.write(str(data))

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        """The data file itself is the visualization."""
        name, kind = self._file(type(data))
        return {self.join(name): kind}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """The string's length in characters."""
        return {"length": len(data)}
