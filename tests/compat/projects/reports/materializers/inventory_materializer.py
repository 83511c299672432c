import json
import os
from typing import Any, Dict, Type

from headrace.enums import ArtifactType, VisualizationType
from headrace.io import fileio
from headrace.materializers.base_materializer import BaseMaterializer

from .inventory import Inventory


class InventoryMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Inventory,)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def load(self, data_type: Type[Any]) -> Inventory:
        with fileio.open(os.path.join(self.uri, "inventory.json"), "r") as f:
            data = json.load(f)
        return Inventory(owner=data["owner"], items=data["items"])

    def save(self, data: Inventory) -> None:
        with fileio.open(os.path.join(self.uri, "inventory.json"), "w") as f:
            json.dump({"owner": data.owner, "items": data.items}, f)

    def save_visualizations(self, data: Inventory) -> Dict[str, VisualizationType]:
        path = os.path.join(self.uri, "inventory.html")
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in data.items.items())
        with fileio.open(path, "w") as f:
            f.write(f"<h1>Inventory of {data.owner}</h1><table>{rows}</table>")
        return {path: VisualizationType.HTML}

    def extract_metadata(self, data: Inventory) -> Dict[str, Any]:
        return {"owner": data.owner, "total_items": data.total()}
