from materializers import Inventory

from headrace import step
from headrace.logger import get_logger

logger = get_logger(__name__)


@step
def check_inventory(inventory: Inventory, expected_owner: str) -> int:
    if inventory.owner != expected_owner:
        raise ValueError(f"inventory of {inventory.owner}, expected {expected_owner}")
    logger.info("inventory of %s holds %d items", inventory.owner, inventory.total())
    return inventory.total()


@step
def read_plan(plan: dict) -> float:
    return float(sum(plan.values()))
