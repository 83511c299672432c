"""Every "same" row of docs/zenml-compatibility.md: the name imports from its module path
and does what projects use it for. The table is read here, so a "same" row without an
exercise below (or an exercise without its row) fails."""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest

from headrace import ArtifactConfig, Model, get_step_context, pipeline, step
from headrace.enums import ArtifactType, ExecutionStatus
from headrace.store.factory import forget_stores, init_repository

DOCS = Path(__file__).resolve().parents[2] / "docs" / "zenml-compatibility.md"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| `(?P<module>[^`]+)` \| (?P<status>[a-z ]+) \|")


def table_rows() -> dict[str, str]:
    """``module:name`` -> status, for every single-name row of the table."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[f"{match['module']}:{match['name']}"] = match["status"]
    return rows


# -- a small world to exercise names against ------------------------------------------
@step
def produce() -> Annotated[dict, ArtifactConfig(name="numbers", tags=["compat"])]:
    return {"a": 1, "b": 2}


@step
def consume(numbers: dict) -> int:
    context = get_step_context()
    context.model.log_metadata({"consumed": len(numbers)})
    return len(numbers)


@pipeline(model=Model(name="compat_model"))
def world_pipeline() -> None:
    consume(produce())


SNAPSHOT_PROJECT = """
from headrace import pipeline, step


@step
def square(x: int = 3) -> int:
    return x * x


@pipeline
def square_pipeline() -> None:
    square()
"""


class World:
    def __init__(self, directory: Path) -> None:
        self.run = world_pipeline()
        (directory / "compat_world.py").write_text(SNAPSHOT_PROJECT)
        module = importlib.import_module("compat_world")
        module.square_pipeline.create_snapshot(name="compat-world")
        module.square_pipeline.create_snapshot(name="compat-delete")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("compat-world")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in __import__("os").environ if k.startswith("HEADRACE_")]:
            patch.delenv(key)
        patch.chdir(directory)
        patch.syspath_prepend(str(directory))
        init_repository(directory)
        try:
            yield World(directory)
        finally:
            forget_stores()


def run_one_step(function: Callable[..., Any], *, returns: bool = True) -> Any:
    """Run ``function`` as a one-step pipeline; returns its output."""
    wrapped = step(function)

    @pipeline(name=f"compat_{function.__name__}", enable_cache=False)
    def one() -> None:
        wrapped()

    run = one()
    return run.steps[wrapped.name].output.load() if returns else run


# -- exercises, by table row ----------------------------------------------------------
def _step(obj: Any, world: World) -> None:
    assert obj(lambda: 1).name == "<lambda>"


def _pipeline(obj: Any, world: World) -> None:
    assert world.run.status is ExecutionStatus.COMPLETED and obj is pipeline


def _get_step_context(obj: Any, world: World) -> None:
    def which() -> str:
        return obj().step_name

    assert run_one_step(which) == "which"


def _get_pipeline_context(obj: Any, world: World) -> None:
    seen = {}

    @pipeline(extra={"k": 1}, enable_cache=False)
    def reads_context() -> None:
        context = obj()
        seen.update(name=context.name, extra=context.extra, cache=context.enable_cache)

    reads_context.compile()
    assert seen == {"name": "reads_context", "extra": {"k": 1}, "cache": False}


def _model(obj: Any, world: World) -> None:
    version = obj(name="compat_model", version=1)
    assert version.number == 1 and version.run_metadata["consumed"] == 2
    assert version.get_artifact("numbers").load() == {"a": 1, "b": 2}


def _artifact_config(obj: Any, world: World) -> None:
    config = obj(name="x", is_model_artifact=True)
    assert config.artifact_type is ArtifactType.MODEL
    numbers = world.run.steps["produce"].outputs["numbers"][0]
    assert numbers.name == "numbers" and numbers.tags == ["compat"]


def _external_artifact(obj: Any, world: World) -> None:
    @step
    def total(values: list) -> int:
        return sum(values)

    @pipeline(enable_cache=False)
    def external() -> None:
        total(obj(value=[1, 2, 3]))

    run = external()
    assert run.steps["total"].output.load() == 6
    assert run.steps["total"].inputs["values"][0].load() == [1, 2, 3]


def _save_artifact(obj: Any, world: World) -> None:
    saved = obj({"saved": True}, name="compat_saved")
    assert saved.name == "compat_saved" and saved.load() == {"saved": True}


def _load_artifact(obj: Any, world: World) -> None:
    assert obj("numbers") == {"a": 1, "b": 2}


def _log_metadata(obj: Any, world: World) -> None:
    obj({"checked": True}, artifact_name="numbers")
    from headrace.client import Client

    assert Client().get_artifact_version("numbers").run_metadata["checked"] is True


def _log_artifact_metadata(obj: Any, world: World) -> None:
    obj({"by": "log_artifact_metadata"}, artifact_name="numbers")
    assert _client().get_artifact_version("numbers").run_metadata["by"] == "log_artifact_metadata"


def _log_model_metadata(obj: Any, world: World) -> None:
    obj({"note": "hi"}, model_name="compat_model", model_version=1)
    assert _client().get_model_version("compat_model", 1).run_metadata["note"] == "hi"


def _log_step_metadata(obj: Any, world: World) -> None:
    obj({"step_note": 1}, step_name="produce", run_id=world.run.id)
    assert _client().get_pipeline_run(world.run.id).steps["produce"].run_metadata["step_note"] == 1


def _link_artifact_to_model(obj: Any, world: World) -> None:
    saved = importlib.import_module("headrace").save_artifact([1], name="compat_linked")
    obj(saved, model=Model(name="compat_model", version=1))
    assert (
        _client().get_model_version("compat_model", 1).get_artifact("compat_linked").id == saved.id
    )


def _add_tags(obj: Any, world: World) -> None:
    obj(tags=["added"], artifact_name="numbers")
    assert "added" in _client().get_artifact_version("numbers").tags


def _remove_tags(obj: Any, world: World) -> None:
    obj(tags=["added"], artifact_name="numbers")
    assert "added" not in _client().get_artifact_version("numbers").tags


def _client_class(obj: Any, world: World) -> None:
    assert obj().get_pipeline_run(world.run.id).id == world.run.id


def _client() -> Any:
    from headrace.client import Client

    return Client()


def _client_method(check: Callable[[Any, World], None]) -> Callable[[Any, World], None]:
    """Exercise a Client method through a fresh Client (``obj`` is the unbound method)."""

    def exercise(obj: Any, world: World) -> None:
        assert callable(obj)
        check(_client(), world)

    return exercise


def _triggered(run: Any) -> None:
    assert run.steps["square"].output.load() == 9


def _secrets(client: Any, world: World) -> None:
    client.create_secret("compat_secret", {"token": "abc"})
    assert client.get_secret("compat_secret").secret_values == {"token": "abc"}
    assert "compat_secret" in [s.name for s in client.list_secrets()]
    client.delete_secret("compat_secret")


CLIENT_CHECKS: dict[str, Callable[[Any, World], None]] = {
    "get_pipeline": lambda c, w: c.get_pipeline("world_pipeline").last_run,
    "list_pipelines": lambda c, w: c.list_pipelines(name="world_pipeline").items,
    "get_pipeline_run": lambda c, w: c.get_pipeline_run(w.run.name),
    "list_pipeline_runs": lambda c, w: c.list_pipeline_runs(pipeline_name="world_pipeline"),
    "get_run_step": lambda c, w: c.get_run_step(w.run.steps["produce"].id).outputs,
    "get_artifact": lambda c, w: c.get_artifact("numbers").versions,
    "get_artifact_version": lambda c, w: c.get_artifact_version("numbers", 1).load(),
    "list_artifact_versions": lambda c, w: c.list_artifact_versions(artifact_name="numbers"),
    "get_model": lambda c, w: c.get_model("compat_model").versions,
    "list_models": lambda c, w: c.list_models(name="compat_model").items,
    "get_model_version": lambda c, w: c.get_model_version("compat_model", 1).get_artifact(
        "numbers"
    ),
    "list_model_versions": lambda c, w: c.list_model_versions("compat_model").items,
    "update_model_version": lambda c, w: c.update_model_version(
        "compat_model", 1, stage="staging", force=True
    ),
    "create_secret": _secrets,
    "get_secret": _secrets,
    "list_secrets": _secrets,
    "delete_secret": _secrets,
    "trigger_pipeline": lambda c, w: _triggered(
        c.trigger_pipeline(snapshot_name_or_id="compat-world", synchronous=True)
    ),
    "get_snapshot": lambda c, w: c.get_snapshot("compat-world").spec,
    "list_snapshots": lambda c, w: c.list_snapshots(pipeline="world_pipeline").items,
    "delete_snapshot": lambda c, w: c.delete_snapshot("compat-delete"),
    "list_tags": lambda c, w: c.list_tags(),
}


def _load_from_response(obj: Any, world: World) -> None:
    assert obj(_client().get_artifact_version("numbers", 1)) == {"a": 1, "b": 2}


def _unmaterialized(obj: Any, world: World) -> None:
    def count_files(numbers):  # type: ignore[no-untyped-def]
        return len(__import__("os").listdir(numbers.uri))

    # Set directly: this module's annotations are strings a local name cannot resolve.
    count_files.__annotations__ = {"numbers": obj, "return": int}
    wrapped = step(count_files)

    @pipeline(enable_cache=False)
    def reads_raw() -> None:
        wrapped(_client().get_artifact_version("numbers", 1))

    assert reads_raw().steps["count_files"].output.load() >= 1


def _string_type(obj: Any, world: World) -> None:
    def make() -> obj:  # type: ignore[valid-type]
        return obj("a,b\n1,2")

    version = run_one_step(make, returns=False).steps["make"].output
    assert isinstance(version.load(), obj) and len(version.visualizations) == 1


def _get_logger(obj: Any, world: World) -> None:
    logger = obj("compat.logger")
    assert logger.isEnabledFor(logging.INFO)


def _get_logging_level(obj: Any, world: World) -> None:
    assert obj() == logging.INFO


def _base_materializer(obj: Any, world: World) -> None:
    class Box:
        def __init__(self, item: str) -> None:
            self.item = item

    class BoxMaterializer(obj):  # type: ignore[valid-type, misc]
        ASSOCIATED_TYPES = (Box,)

        def load(self, data_type: type) -> Box:
            with self.artifact_store.open(self.join("item.txt"), "r") as handle:
                return Box(handle.read())

        def save(self, data: Box) -> None:
            with self.artifact_store.open(self.join("item.txt"), "w") as handle:
                handle.write(data.item)

    saved = importlib.import_module("headrace").save_artifact(
        Box("x"), name="compat_box", materializer=BoxMaterializer
    )
    assert saved.load().item == "x"


def _fileio(obj: Any, world: World) -> None:
    path = str(Path.cwd() / "fileio.txt")
    with obj.open(path, "w") as handle:
        handle.write("hi")
    assert obj.exists(path) and obj.listdir(str(Path.cwd()))


def _enum_member(member: str, value: str) -> Callable[[Any, World], None]:
    def exercise(obj: Any, world: World) -> None:
        assert obj(value) is getattr(obj, member)

    return exercise


def _metadata_type(obj: Any, world: World) -> None:
    value = obj(5) if obj.__name__ == "StorageSize" else obj("s3://b/k")
    importlib.import_module("headrace").log_metadata(
        {"typed": value}, artifact_name="numbers", artifact_version=1
    )
    loaded = _client().get_artifact_version("numbers", 1).run_metadata["typed"]
    assert type(loaded) is obj


def _metadata_type_enum(obj: Any, world: World) -> None:
    assert obj.URI == "Uri"


def _config_model(**values: Any) -> Callable[[Any, World], None]:
    def exercise(obj: Any, world: World) -> None:
        built = obj(**values)
        for key, value in values.items():
            assert getattr(built, key) == value

    return exercise


def _schedule(obj: Any, world: World) -> None:
    assert obj(cron_expression="0 2 * * *").cron_expression == "0 2 * * *"
    assert obj(interval_second=60).interval_second.total_seconds() == 60
    with pytest.raises(ValueError, match="cron_expression"):
        obj(cron_expression="not a cron")


def _run_configuration(obj: Any, world: World) -> None:
    config = obj(steps={"produce": {"enable_cache": False}}, enable_cache=False)
    run = world_pipeline.with_options(**config.model_dump(exclude_unset=True))()
    assert run.steps["produce"].status is ExecutionStatus.COMPLETED


EXERCISES: dict[str, Callable[[Any, World], None]] = {
    "headrace:step": _step,
    "headrace:pipeline": _pipeline,
    "headrace:get_step_context": _get_step_context,
    "headrace:get_pipeline_context": _get_pipeline_context,
    "headrace:Model": _model,
    "headrace:ArtifactConfig": _artifact_config,
    "headrace:ExternalArtifact": _external_artifact,
    "headrace:save_artifact": _save_artifact,
    "headrace:load_artifact": _load_artifact,
    "headrace:log_metadata": _log_metadata,
    "headrace:log_artifact_metadata": _log_artifact_metadata,
    "headrace:log_model_metadata": _log_model_metadata,
    "headrace:log_step_metadata": _log_step_metadata,
    "headrace:link_artifact_to_model": _link_artifact_to_model,
    "headrace:add_tags": _add_tags,
    "headrace:remove_tags": _remove_tags,
    "headrace:Client": _client_class,
    **{
        f"headrace.client:Client.{name}": _client_method(check)
        for name, check in CLIENT_CHECKS.items()
    },
    "headrace.artifacts.utils:save_artifact": _save_artifact,
    "headrace.artifacts.utils:load_artifact": _load_artifact,
    "headrace.artifacts.utils:load_artifact_from_response": _load_from_response,
    "headrace.artifacts.artifact_config:ArtifactConfig": _artifact_config,
    "headrace.artifacts.external_artifact:ExternalArtifact": _external_artifact,
    "headrace.artifacts.unmaterialized_artifact:UnmaterializedArtifact": _unmaterialized,
    "headrace.types:HTMLString": _string_type,
    "headrace.types:MarkdownString": _string_type,
    "headrace.types:CSVString": _string_type,
    "headrace.types:JSONString": _string_type,
    "headrace.logger:get_logger": _get_logger,
    "headrace.logger:get_logging_level": _get_logging_level,
    "headrace.model.model:Model": _model,
    "headrace.materializers.base_materializer:BaseMaterializer": _base_materializer,
    "headrace.io:fileio": _fileio,
    "headrace.enums:ArtifactType": _enum_member("MODEL", "ModelArtifact"),
    "headrace.enums:VisualizationType": _enum_member("MARKDOWN", "markdown"),
    "headrace.enums:ExecutionStatus": _enum_member("CACHED", "cached"),
    "headrace.enums:ModelStages": _enum_member("PRODUCTION", "production"),
    "headrace.enums:ExecutionMode": _enum_member("FAIL_FAST", "fail_fast"),
    "headrace.metadata.metadata_types:Uri": _metadata_type,
    "headrace.metadata.metadata_types:Path": _metadata_type,
    "headrace.metadata.metadata_types:DType": _metadata_type,
    "headrace.metadata.metadata_types:StorageSize": _metadata_type,
    "headrace.metadata.metadata_types:MetadataTypeEnum": _metadata_type_enum,
    "headrace.config:DockerSettings": _config_model(environment={"A": None, "B": 3}),
    "headrace.config:ResourceSettings": _config_model(cpu_count=2, memory="1GB"),
    "headrace.config:StepRetryConfig": _config_model(max_retries=2, delay=1, backoff=2),
    "headrace.config:CachePolicy": _config_model(include_step_code=False),
    "headrace.config:Schedule": _schedule,
    "headrace.config.pipeline_run_configuration:PipelineRunConfiguration": _run_configuration,
}


def test_every_same_row_has_an_exercise_and_every_exercise_a_same_row() -> None:
    same = {key for key, status in table_rows().items() if status == "same"}
    assert same == set(EXERCISES)


def test_statuses_are_the_three_allowed_ones() -> None:
    assert set(table_rows().values()) <= {"same", "different", "not applicable"}


def _resolve(key: str) -> Any:
    module_name, _, dotted = key.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:  # a submodule: ``from headrace.io import fileio``
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_same_row(key: str, world: World) -> None:
    EXERCISES[key](_resolve(key), world)
