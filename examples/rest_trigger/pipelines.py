"""A daily sales report: the pipeline a REST call (or a scheduler) triggers by snapshot.

The orders come with the project (``data/orders.csv``), so the snapshot's code archive
carries them and the run reads the very file the snapshot was made with.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

from headrace import log_metadata, pipeline, step

DATA = Path(__file__).resolve().parent / "data" / "orders.csv"


@step
def load_orders(region: str = "all") -> list[dict[str, float | str]]:
    """The orders of one region (``all``: every region), amounts as numbers."""
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    regions = sorted({row["region"] for row in rows})
    if region != "all" and region not in regions:
        raise ValueError(f"region {region!r} has no orders; choose one of {regions} or 'all'")
    return [
        {
            "order_id": row["order_id"],
            "region": row["region"],
            "amount": float(row["amount"]),
            "returned": float(row["returned"]),
        }
        for row in rows
        if region in ("all", row["region"])
    ]


@step
def summarize(
    orders: list[dict[str, float | str]], large_order: float = 100.0
) -> Annotated[dict[str, float], "summary"]:
    """Revenue, order count and return rate; orders of ``large_order`` or more counted apart."""
    kept = [order for order in orders if order["returned"] == 0.0]
    revenue = round(sum(float(order["amount"]) for order in kept), 2)
    summary = {
        "orders": float(len(orders)),
        "revenue": revenue,
        "large_orders": float(sum(1 for o in kept if float(o["amount"]) >= large_order)),
        "return_rate": round(1 - len(kept) / len(orders), 4) if orders else 0.0,
    }
    log_metadata(metadata=summary)
    return summary


@pipeline(enable_cache=False)
def daily_report(
    region: str = "all", large_order: float = 100.0
) -> Annotated[dict[str, float], "report"]:
    """Summarize the orders of a region."""
    return summarize(load_orders(region=region), large_order=large_order)
