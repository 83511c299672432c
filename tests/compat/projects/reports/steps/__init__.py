from .build import count_stock, restock_plan, stock_report, stock_summary, stock_table
from .consume import check_inventory, read_plan

__all__ = [
    "check_inventory",
    "count_stock",
    "read_plan",
    "restock_plan",
    "stock_report",
    "stock_summary",
    "stock_table",
]
