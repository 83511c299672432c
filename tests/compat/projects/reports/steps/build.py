import logging
from typing import Annotated, List

from materializers import Inventory, InventoryMaterializer

from headrace import ArtifactConfig, get_step_context, step
from headrace.types import CSVString, HTMLString, MarkdownString

logger = logging.getLogger(__name__)


@step(output_materializers=InventoryMaterializer)
def count_stock(
    owner: str, apples: int, pears: int
) -> Annotated[
    Inventory,
    ArtifactConfig(
        name="inventory", tags=["stock", "weekly"], run_metadata={"counted_by": "compat-suite"}
    ),
]:
    logger.info("counting stock of %s", owner)
    return Inventory(owner=owner, items={"apples": apples, "pears": pears})


@step
def stock_summary(inventory: Inventory) -> Annotated[MarkdownString, "stock_summary"]:
    lines = [f"# Stock of {inventory.owner}", ""]
    lines += [f"* {name}: {count}" for name, count in inventory.items.items()]
    return MarkdownString("\n".join(lines))


@step
def stock_table(inventory: Inventory) -> Annotated[CSVString, "stock_table"]:
    rows = ["item,count"] + [f"{k},{v}" for k, v in inventory.items.items()]
    return CSVString("\n".join(rows))


@step
def stock_report(inventory: Inventory, minimum: int) -> Annotated[HTMLString, "stock_report"]:
    low = [name for name, count in inventory.items.items() if count < minimum]
    extra = get_step_context().pipeline_run.name
    return HTMLString(f"<h2>Low stock</h2><p>{', '.join(low) or 'none'}</p><!-- {extra} -->")


@step
def restock_plan(
    inventory: Inventory, supplier_prices: List[float]
) -> Annotated[dict, ArtifactConfig(name="restock_plan", version="week-1")]:
    cheapest = min(supplier_prices)
    return {name: max(0, 10 - count) * cheapest for name, count in inventory.items.items()}
