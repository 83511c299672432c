"""The ZenML-shaped API additions in real runs: model handles, artifact versions and
ExternalArtifacts as inputs, step logging, visualizations and their switches."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import pytest

from headrace import (
    ArtifactConfig,
    ExternalArtifact,
    Model,
    get_pipeline_context,
    get_step_context,
    link_artifact_to_model,
    log_step_metadata,
    pipeline,
    save_artifact,
    step,
)
from headrace.client import Client
from headrace.enums import ModelStages, VisualizationType
from headrace.exceptions import (
    EntityNotFoundError,
    HeadraceError,
    RunFailedError,
    StoreError,
)
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.types import HTMLString


@step
def make_numbers(n: int = 3) -> Annotated[list, ArtifactConfig(name="numbers")]:
    return list(range(n))


@step(enable_cache=False)
def inspect_model() -> dict:
    model = get_step_context().model
    model.log_metadata({"seen": model.number})
    return {
        "name": model.name,
        "version": model.version,
        "number": model.number,
        "numbers": model.load_artifact("numbers"),
    }


@step(enable_cache=False)
def promote(ready: dict) -> None:
    get_step_context().model.set_stage("production", force=True)


@pipeline(model=Model(name="handles"))
def model_pipeline() -> None:
    numbers = make_numbers()
    promote(inspect_model(after=numbers))


def test_the_step_model_is_a_handle_on_the_run_version(repo: Path) -> None:
    first = model_pipeline()
    seen = first.steps["inspect_model"].output.load()
    assert seen == {"name": "handles", "version": "1", "number": 1, "numbers": [0, 1, 2]}
    model_pipeline()
    production = Model(name="handles", version="production")
    assert production.number == 2 and production.stage is ModelStages.PRODUCTION
    assert Model(name="handles", version=1).stage is ModelStages.ARCHIVED
    assert Model(name="handles").number == 2  # no version outside a step: the latest
    assert production.run_metadata == {"seen": 2}
    assert production.get_artifact("numbers").load() == [0, 1, 2]
    with pytest.raises(EntityNotFoundError):
        Model(name="no_such_model").number  # noqa: B018


def test_pipeline_model_and_pipeline_context(repo: Path) -> None:
    seen: dict[str, Any] = {}

    @pipeline(extra={"size": 4}, tags=["ctx"], enable_cache=False, model=Model(name="ctx"))
    def with_context() -> None:
        context = get_pipeline_context()
        seen.update(name=context.name, model=context.model.name, tags=context.tags)
        make_numbers(context.extra["size"])

    with pytest.raises(EntityNotFoundError):
        with_context.model  # noqa: B018 - nothing stored before the first run
    run = with_context()
    assert seen == {"name": "with_context", "model": "ctx", "tags": ["ctx"]}
    assert with_context.model.last_run.id == run.id and len(with_context.model.runs) == 1
    with pytest.raises(HeadraceError, match="inside a pipeline function"):
        get_pipeline_context()


@step
def total(values: list) -> int:
    return sum(values)


@step
def needs_text(text: str) -> str:
    return text


def test_versions_from_earlier_runs_and_external_artifacts_are_inputs(repo: Path) -> None:
    make_numbers.with_options(name="first")(4)  # a one-step run stores "numbers" v1
    client = Client()
    stored = client.get_artifact_version("numbers")
    saved = save_artifact([10, 20], name="saved_numbers", version="v1")

    @pipeline(enable_cache=False)
    def consumer() -> None:
        total(stored, id="from_version")
        total(ExternalArtifact(name="saved_numbers", version="v1"), id="by_name")
        total(ExternalArtifact(id=saved.id), id="by_id")
        total(ExternalArtifact(value=[5, 5], name="fives"), id="by_value")

    run = consumer()
    results = {name: s.output.load() for name, s in run.steps.items()}
    assert results == {"from_version": 6, "by_name": 30, "by_id": 30, "by_value": 10}
    assert run.steps["from_version"].inputs["values"][0].id == stored.id
    assert run.steps["by_value"].inputs["values"][0].name == "fives"

    @pipeline
    def wrong_type() -> None:
        needs_text(stored)

    with pytest.raises(RunFailedError, match="input 'text'"):
        wrong_type()
    with pytest.raises(EntityNotFoundError):
        ExternalArtifact(name="missing")._headrace_input_version_id("x")


@step
def chatty() -> int:
    logging.getLogger("chatty.module").info("an info line from the step")
    logging.debug("a debug line nobody keeps")
    print("a printed line")
    return 1


def test_step_logging_info_is_kept_and_root_logging_is_restored(repo: Path) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    filters = {id(h): list(h.filters) for h in handlers}

    @pipeline(enable_cache=False)
    def talk() -> None:
        chatty()

    run = talk()
    logs = Client().get_run_logs(run.id, "chatty")["chatty"]
    assert "INFO chatty.module: an info line from the step" in logs
    assert "a printed line" in logs and "debug line" not in logs
    assert root.level == level and root.handlers == handlers
    assert {id(h): list(h.filters) for h in root.handlers} == filters


class Page:
    def __init__(self, body: str) -> None:
        self.body = body


class PageMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Page,)

    def load(self, data_type: type) -> Page:
        with self.artifact_store.open(self.join("page.txt"), "r") as handle:
            return Page(handle.read())

    def save(self, data: Page) -> None:
        with self.artifact_store.open(self.join("page.txt"), "w") as handle:
            handle.write(data.body)

    def save_visualizations(self, data: Page) -> dict[str, VisualizationType]:
        if data.body == "broken":
            raise RuntimeError("cannot draw")
        path = self.join("page.html")
        with self.artifact_store.open(path, "w") as handle:
            handle.write(f"<p>{data.body}</p>")
        return {path: VisualizationType.HTML}


@step
def page(body: str) -> Page:
    return Page(body)


@step
def html() -> HTMLString:
    return HTMLString("<b>hi</b>")


def test_visualizations_recorded_switched_off_and_failing_quietly(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    @pipeline(enable_cache=False)
    def pages(body: str) -> None:
        page(body)
        html()

    shown = pages("hello").steps["page"].output
    (visualization,) = shown.visualizations
    assert visualization.uri == shown.uri + "/page.html"
    assert Path(visualization.uri).read_text() == "<p>hello</p>"
    quiet = pages.with_options(enable_artifact_visualization=False)("hello")
    assert quiet.steps["page"].output.visualizations == []
    assert quiet.steps["html"].output.visualizations == []
    broken = pages("broken").steps["page"].output
    assert broken.visualizations == [] and broken.load().body == "broken"
    assert "save_visualizations failed" in caplog.text


def test_metadata_shortcuts_refuse_missing_targets(repo: Path) -> None:
    with pytest.raises(HeadraceError, match="run_id="):
        log_step_metadata({"a": 1}, step_name="x")
    saved = save_artifact(1, name="lonely")
    with pytest.raises(HeadraceError, match="needs model="):
        link_artifact_to_model(saved)
    with pytest.raises(StoreError):
        save_artifact(2, name="numbered", version="3")


def test_pipeline_context_in_a_dynamic_pipeline(repo: Path) -> None:
    @pipeline(dynamic=True, extra={"n": 3}, enable_cache=False)
    def loops() -> None:
        for i in range(get_pipeline_context().extra["n"]):
            total(ExternalArtifact(value=[i, 1]), id=f"total_{i}")

    run = loops()
    assert {n: s.output.load() for n, s in run.steps.items()} == {
        "total_0": 1,
        "total_1": 2,
        "total_2": 3,
    }
