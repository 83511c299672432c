from .inventory_materializer import InventoryMaterializer
from .inventory import Inventory

__all__ = ["Inventory", "InventoryMaterializer"]
