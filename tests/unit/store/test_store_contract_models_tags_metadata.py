"""The model, tag and metadata verbs of SqlStore (SQLite): semantics, errors, transactions."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from headrace.enums import (
    ExecutionStatus,
    MetadataResourceType,
    ModelStages,
    TaggableResourceType,
)
from headrace.exceptions import EntityNotFoundError, StoreError
from headrace.metadata.metadata_types import Path as MetadataPath
from headrace.metadata.metadata_types import StorageSize, Uri
from headrace.models import (
    ArtifactVersionFilter,
    ArtifactVersionRequest,
    ModelFilter,
    ModelVersionFilter,
    ModelVersionRequest,
    ModelVersionUpdate,
    PipelineFilter,
    PipelineRunFilter,
    PipelineRunRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.sql import schema as t
from headrace.store.sql.migrate import upgrade
from headrace.store.sql.store import SqlStore


def _id() -> str:
    return str(uuid.uuid4())


def _run(store: SqlStore, name: str, tags: list[str] | None = None) -> str:
    return store.create_run(
        PipelineRunRequest(
            id=_id(),
            name=name,
            pipeline_id=None,
            snapshot_id=None,
            stack_id=store.get_default_stack().id,
            tags=tags or [],
        )
    ).id


def _version(store: SqlStore, name: str, **fields: object) -> ArtifactVersionRequest:
    return ArtifactVersionRequest(
        id=_id(),
        artifact_name=name,
        uri=f"/tmp/{_id()}",
        materializer="m.M",
        data_type="builtins.int",
        content_hash="0" * 64,
        size=1,
        artifact_store_id=store.get_default_stack().id,
        **fields,  # type: ignore[arg-type]
    )


def _resolve(store: SqlStore, version: str | int | None = None, **fields: object) -> str:
    return store.resolve_model_version(
        ModelVersionRequest(model_name="m", version=version, **fields)  # type: ignore[arg-type]
    ).id


# -- models ------------------------------------------------------------------------------


def test_versions_are_numbered_named_and_reused(contract_store: SqlStore) -> None:
    first = _resolve(contract_store, description="first", license="MIT")
    second = _resolve(contract_store)
    named = _resolve(contract_store, "v1")
    assert _resolve(contract_store, "v1") == named
    assert _resolve(contract_store, 2) == second
    assert _resolve(contract_store, "1") == first
    assert _resolve(contract_store, "latest") == named
    versions = contract_store.list_model_versions(
        ModelVersionFilter(model_name="m", sort_by="asc:number")
    )
    assert [(v.name, v.number) for v in versions] == [("1", 1), ("2", 2), ("v1", 3)]
    model = contract_store.get_model("m")
    assert (model.description, model.license, model.latest_version_number) == ("first", "MIT", 3)
    assert contract_store.get_model_version(first).description == "first"
    assert contract_store.get_model_version("m").name == "v1"  # latest when no version given
    assert contract_store.get_model_version(first[:8]).number == 1  # an id prefix alone


def test_missing_number_or_stage_creates_nothing(contract_store: SqlStore) -> None:
    with pytest.raises(EntityNotFoundError, match="no version in stage 'production'"):
        _resolve(contract_store, "production")
    with pytest.raises(EntityNotFoundError):
        contract_store.get_model("m")  # the model's creation was rolled back too
    _resolve(contract_store)
    with pytest.raises(EntityNotFoundError, match="no version number 5"):
        _resolve(contract_store, 5)
    with pytest.raises(EntityNotFoundError, match="no version in stage 'staging'"):
        contract_store.get_model_version("m", "staging")
    assert contract_store.get_model("m").latest_version_number == 1


def test_resolving_links_the_run_and_tags(contract_store: SqlStore) -> None:
    run_id = _run(contract_store, "r")
    version_id = contract_store.resolve_model_version(
        ModelVersionRequest(
            model_name="m", tags=["a", "b", "a"], pipeline_run_id=run_id, run_model=True
        )
    ).id
    again = contract_store.resolve_model_version(
        ModelVersionRequest(model_name="m", version="1", tags=["a"], pipeline_run_id=run_id)
    )
    assert again.id == version_id and again.tags == ["a", "b"]
    assert contract_store.get_run(run_id).model_version_id == version_id
    linked = contract_store.list_runs(PipelineRunFilter(model_version_id=version_id))
    assert [r.id for r in linked] == [run_id]  # linked once
    assert contract_store.get_model("m").tags == ["a", "b"]
    by_run = contract_store.list_model_versions(ModelVersionFilter(pipeline_run_id=run_id))
    assert [v.id for v in by_run] == [version_id]


def test_stages_are_exclusive_unless_forced(contract_store: SqlStore) -> None:
    one, two = _resolve(contract_store), _resolve(contract_store)
    contract_store.update_model_version(one, ModelVersionUpdate(stage=ModelStages.PRODUCTION))
    with pytest.raises(StoreError, match="version '1' is in stage 'production' already"):
        contract_store.update_model_version(two, ModelVersionUpdate(stage=ModelStages.PRODUCTION))
    moved = contract_store.update_model_version(
        two, ModelVersionUpdate(stage=ModelStages.PRODUCTION, force=True)
    )
    assert moved.stage is ModelStages.PRODUCTION
    assert contract_store.get_model_version(one).stage is ModelStages.ARCHIVED
    assert _resolve(contract_store, "production") == two
    assert _resolve(contract_store, "archived") == one
    # Archived is not exclusive: several versions may be archived at once.
    contract_store.update_model_version(two, ModelVersionUpdate(stage=ModelStages.ARCHIVED))
    archived = contract_store.list_model_versions(ModelVersionFilter(stage=ModelStages.ARCHIVED))
    assert archived.total == 2
    with pytest.raises(StoreError, match="'latest' is not a stage"):
        contract_store.update_model_version(one, ModelVersionUpdate(stage=ModelStages.LATEST))
    with pytest.raises(EntityNotFoundError, match="No model version has the id"):
        contract_store.update_model_version(_id(), ModelVersionUpdate(description="x"))


def test_model_filters(contract_store: SqlStore) -> None:
    contract_store.resolve_model_version(ModelVersionRequest(model_name="a", tags=["x"]))
    contract_store.resolve_model_version(ModelVersionRequest(model_name="b"))
    assert [m.name for m in contract_store.list_models(ModelFilter(tag="x"))] == ["a"]
    assert contract_store.list_models(ModelFilter(sort_by="asc:name")).items[1].name == "b"
    assert contract_store.list_model_versions(ModelVersionFilter(tag="x")).total == 1
    with pytest.raises(EntityNotFoundError, match="No model has the name or id 'c'"):
        contract_store.list_model_versions(ModelVersionFilter(model_name="c"))


def test_completing_a_step_links_outputs_and_cache_hits_link_again(
    contract_store: SqlStore,
) -> None:
    run_id = _run(contract_store, "r")
    version_id = _resolve(contract_store, pipeline_run_id=run_id)
    step_id = _id()
    created = contract_store.complete_step_run(
        step_id,
        StepRunUpdate(status=ExecutionStatus.COMPLETED, run_metadata={"loss": 0.1}),
        {"out": [_version(contract_store, "a")]},
        create=[
            StepRunRequest(
                id=step_id,
                pipeline_run_id=run_id,
                name="s",
                step_name="s",
                status=ExecutionStatus.RUNNING,
                model_version_id=version_id,
            )
        ],
        model_version_id=version_id,
    )
    linked = contract_store.list_artifact_versions(
        ArtifactVersionFilter(model_version_id=version_id)
    )
    assert [v.id for v in linked] == created["out"]
    step = contract_store.get_step_run(step_id)
    assert step.model_version_id == version_id and step.run_metadata == {"loss": 0.1}
    # A cached record of the same outputs, for the same version, links nothing twice; for
    # a new version it links them there too.
    new_version = _resolve(contract_store)
    for target in (version_id, new_version):
        contract_store.create_step_runs(
            [
                StepRunRequest(
                    id=_id(),
                    pipeline_run_id=_run(contract_store, f"r-{target}"),
                    name="s",
                    step_name="s",
                    status=ExecutionStatus.CACHED,
                    outputs=created,
                    model_version_id=target,
                )
            ]
        )
    for target in (version_id, new_version):
        page = contract_store.list_artifact_versions(ArtifactVersionFilter(model_version_id=target))
        assert [v.id for v in page] == created["out"]


# -- tags --------------------------------------------------------------------------------


def test_run_tags_are_linked_and_kept_in_the_json_copy(contract_store: SqlStore) -> None:
    tagged = _run(contract_store, "tagged", ["a", "b", "a"])
    other = _run(contract_store, "other", ["b"])
    assert contract_store.get_run(tagged).tags == ["a", "b"]
    assert [r.id for r in contract_store.list_runs(PipelineRunFilter(tag="a"))] == [tagged]
    contract_store.add_tags(TaggableResourceType.PIPELINE_RUN, other, ["a", "c"])
    contract_store.remove_tags(TaggableResourceType.PIPELINE_RUN, tagged, ["a", "zzz"])
    assert contract_store.get_run(other).tags == ["b", "a", "c"]
    assert contract_store.get_run(tagged).tags == ["b"]
    assert [r.id for r in contract_store.list_runs(PipelineRunFilter(tag="a"))] == [other]
    counts = {tag.name: tag.count for tag in contract_store.list_tags()}
    assert counts == {"a": 1, "b": 2, "c": 1}
    with pytest.raises(EntityNotFoundError, match="No pipeline run has the id"):
        contract_store.add_tags(TaggableResourceType.PIPELINE_RUN, _id(), ["a"])
    with pytest.raises(StoreError, match="at most 255 characters"):
        contract_store.add_tags(TaggableResourceType.PIPELINE_RUN, other, ["x" * 256])


def test_artifact_version_tags_and_artifact_tags_both_filter(contract_store: SqlStore) -> None:
    one = contract_store.create_artifact_version(_version(contract_store, "data", tags=["raw"]))
    two = contract_store.create_artifact_version(_version(contract_store, "data"))
    contract_store.create_artifact_version(_version(contract_store, "other"))
    assert one.tags == ["raw"]

    def tagged(tag: str) -> set[str]:
        page = contract_store.list_artifact_versions(ArtifactVersionFilter(tag=tag))
        return {v.id for v in page}

    assert tagged("raw") == {one.id}
    contract_store.add_tags(TaggableResourceType.ARTIFACT, one.artifact_id, ["shared"])
    assert tagged("shared") == {one.id, two.id}
    assert contract_store.get_artifact("data").tags == ["shared"]
    contract_store.add_tags(TaggableResourceType.ARTIFACT_VERSION, two.id, ["raw"])
    assert contract_store.get_artifact_version(two.id).tags == ["raw"]
    assert tagged("raw") == {one.id, two.id}


def test_pipeline_tags(contract_store: SqlStore) -> None:
    first = contract_store.get_or_create_pipeline("first")
    contract_store.get_or_create_pipeline("second")
    contract_store.add_tags(TaggableResourceType.PIPELINE, first.id, ["team"])
    assert contract_store.get_pipeline("first").tags == ["team"]
    page = contract_store.list_pipelines(PipelineFilter(tag="team"))
    assert [(p.name, p.tags) for p in page] == [("first", ["team"])]
    assert contract_store.list_pipelines(PipelineFilter()).total == 2


# -- metadata ----------------------------------------------------------------------------


def test_metadata_merges_and_keeps_types(contract_store: SqlStore) -> None:
    run_id = _run(contract_store, "r")
    kind = MetadataResourceType.PIPELINE_RUN
    contract_store.add_run_metadata(kind, run_id, {"uri": Uri("s3://b/k"), "n": 1, "s": {1, 2}})
    contract_store.add_run_metadata(kind, run_id, {"n": 2, "size": StorageSize(9)})
    metadata = contract_store.get_run(run_id).run_metadata
    assert metadata == {"uri": "s3://b/k", "n": 2, "s": {1, 2}, "size": 9}
    assert type(metadata["uri"]) is Uri and type(metadata["size"]) is StorageSize
    assert type(metadata["s"]) is set
    with pytest.raises(EntityNotFoundError, match="No step run has the id"):
        contract_store.add_run_metadata(MetadataResourceType.STEP_RUN, _id(), {"a": 1})


def test_artifact_metadata_from_creation_and_later(contract_store: SqlStore) -> None:
    request = _version(contract_store, "data", metadata={"p": MetadataPath("/x"), "rows": 3})
    created = contract_store.create_artifact_version(request)
    assert type(created.metadata["p"]) is MetadataPath
    contract_store.add_run_metadata(MetadataResourceType.ARTIFACT_VERSION, created.id, {"rows": 4})
    fresh = contract_store.get_artifact_version(created.id)
    assert fresh.run_metadata == fresh.metadata == {"p": "/x", "rows": 4}
    assert type(fresh.metadata["p"]) is MetadataPath
    # Responses carry the type names, so a copy made from their JSON is typed again.
    copy = type(fresh).model_validate_json(fresh.model_dump_json())
    assert type(copy.metadata["p"]) is MetadataPath


def test_model_version_metadata(contract_store: SqlStore) -> None:
    version_id = _resolve(contract_store)
    contract_store.add_run_metadata(MetadataResourceType.MODEL_VERSION, version_id, {"auc": 0.9})
    assert contract_store.get_model_version(version_id).run_metadata == {"auc": 0.9}


# -- migration ---------------------------------------------------------------------------


def test_upgrade_links_tags_already_in_json_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002_attempts_hooks_secrets")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stacks (id, name, created, components) "
                "VALUES ('s', 'default', '2024-01-01 00:00:00', '{}')"
            )
        )
        for run_id, tags in (("r1", '["old", "both"]'), ("r2", '["both"]'), ("r3", "[]")):
            conn.execute(
                text(
                    "INSERT INTO pipeline_runs (id, name, stack_id, status, config, parameters, "
                    "tags, outputs, created, unlisted) VALUES (:id, :id, 's', 'completed', "
                    "'{}', '{}', :tags, '{}', '2024-01-01 00:00:00', 0)"
                ),
                {"id": run_id, "tags": tags},
            )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.tags.c.name, t.tag_resources.c.resource_id, t.tag_resources.c.resource_type)
            .join(t.tag_resources, t.tag_resources.c.tag_id == t.tags.c.id)
            .order_by(t.tags.c.name, t.tag_resources.c.resource_id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("both", "r1", "pipeline_run"),
        ("both", "r2", "pipeline_run"),
        ("old", "r1", "pipeline_run"),
    ]
    store = SqlStore(url, default_artifact_path=str(tmp_path / "a"))
    try:
        assert {r.id for r in store.list_runs(PipelineRunFilter(tag="both"))} == {"r1", "r2"}
        assert store.get_run("r1").run_metadata == {}
    finally:
        store.close()
