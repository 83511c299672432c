"""A project with its own materializer and visualizations, a YAML run configuration, an
``ExternalArtifact``, and a second pipeline consuming the first one's artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_projects import copy_project, run_cli, run_project

from headrace.client import Client
from headrace.enums import ExecutionStatus, VisualizationType
from headrace.types import HTMLString

pytestmark = pytest.mark.slow


@pytest.fixture
def reports(repo: Path) -> Path:
    project = copy_project("reports", repo)
    run_project(project, "build")
    return project


def test_custom_materializer_metadata_tags_and_visualization(reports: Path) -> None:
    inventory = Client().get_artifact_version("inventory")
    assert inventory.materializer == "materializers.inventory_materializer.InventoryMaterializer"
    assert inventory.tags == ["stock", "weekly"]
    assert inventory.run_metadata["owner"] == "corner shop"
    assert inventory.run_metadata["total_items"] == 16
    assert inventory.run_metadata["counted_by"] == "compat-suite"
    (visualization,) = inventory.visualizations
    assert visualization.type is VisualizationType.HTML
    assert Path(visualization.uri).parent == Path(inventory.uri)
    shown = run_cli(reports, "artifact", "show", "inventory", "--visualize")
    assert "Inventory of corner shop" in shown and "visualizations  html" in shown


def test_string_types_are_stored_as_their_own_visualizations(reports: Path) -> None:
    client = Client()
    kinds = {
        name: [v.type for v in client.get_artifact_version(name).visualizations]
        for name in ("stock_summary", "stock_table", "stock_report")
    }
    assert kinds == {
        "stock_summary": [VisualizationType.MARKDOWN],
        "stock_table": [VisualizationType.CSV],
        "stock_report": [VisualizationType.HTML],
    }
    table = run_cli(reports, "artifact", "show", "stock_table", "--visualize")
    assert "apples" in table and "pears" in table and "12" in table
    summary = run_cli(reports, "artifact", "show", "stock_summary", "--visualize")
    assert "Stock of corner shop" in summary
    report = client.get_artifact_version("stock_report").load()
    assert isinstance(report, HTMLString) and "<p>apples</p>" in report


def test_yaml_configuration_and_external_artifact(reports: Path) -> None:
    client = Client()
    run = client.get_pipeline("build_reports").last_run
    assert run.status is ExecutionStatus.COMPLETED
    assert run.steps["stock_report"].parameters["minimum"] == 5
    plan = client.get_artifact_version("restock_plan", "week-1")
    assert plan.load() == {"apples": 9.0, "pears": 0.0}
    (prices,) = run.steps["restock_plan"].inputs["supplier_prices"]
    assert prices.load() == [2.5, 1.5, 3.0]
    assert prices.producer_step_run_id is None  # stored for the run, not made by a step
    logs = client.get_run_logs(run.id, "count_stock")["count_stock"]
    assert "counting stock of corner shop" in logs


def test_a_second_run_fixing_the_same_version_fails_clearly(reports: Path) -> None:
    with pytest.raises(AssertionError, match="already has version 'week-1'"):
        run_project(reports, "build")
    assert Client().get_pipeline("build_reports").last_run.status is ExecutionStatus.FAILED


def test_artifacts_of_one_run_are_inputs_of_the_next(reports: Path) -> None:
    run_project(reports, "consume")
    client = Client()
    run = client.get_pipeline("consume_reports").last_run
    assert run.status is ExecutionStatus.COMPLETED
    inventory = client.get_artifact_version("inventory")
    assert [v.id for v in run.steps["check_inventory"].inputs["inventory"]] == [inventory.id]
    assert run.steps["check_inventory"].output.load() == 16
    assert run.steps["read_plan"].output.load() == 9.0
    bonus = client.get_artifact_version("bonus_plan")
    assert [v.id for v in run.steps["read_bonus"].inputs["plan"]] == [bonus.id]
    assert run.steps["read_bonus"].output.load() == 1.0
