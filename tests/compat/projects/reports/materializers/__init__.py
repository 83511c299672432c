from .inventory import Inventory
from .inventory_materializer import InventoryMaterializer

__all__ = ["Inventory", "InventoryMaterializer"]
