"""``python run.py build`` counts stock and reports; ``python run.py consume`` reads the
latest inventory and plan back, in a separate run."""

import sys

from steps import (
    check_inventory,
    count_stock,
    read_plan,
    restock_plan,
    stock_report,
    stock_summary,
    stock_table,
)

from headrace import ExternalArtifact, get_pipeline_context, pipeline, save_artifact
from headrace.client import Client


@pipeline
def build_reports(apples: int, pears: int):
    owner = get_pipeline_context().extra["owner"]
    inventory = count_stock(owner=owner, apples=apples, pears=pears)
    stock_summary(inventory)
    stock_table(inventory)
    stock_report(inventory)
    restock_plan(inventory, supplier_prices=ExternalArtifact(value=[2.5, 1.5, 3.0]))


@pipeline(enable_cache=False)
def consume_reports(expected_owner: str):
    client = Client()
    check_inventory(client.get_artifact_version("inventory"), expected_owner=expected_owner)
    read_plan(client.get_artifact_version("restock_plan", "week-1"))
    read_plan(save_artifact({"bonus": 1.0}, name="bonus_plan"), id="read_bonus")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build_reports.with_options(config_path="configs/build.yaml")()
    else:
        consume_reports(expected_owner="corner shop")
