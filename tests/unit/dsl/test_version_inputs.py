"""Step calls given artifact versions or ArtifactConfig outputs compile into the spec."""

from __future__ import annotations

import json
from typing import Annotated

import pytest

from headrace import ArtifactConfig, ExternalArtifact, pipeline, step
from headrace.config.spec import PipelineSpec
from headrace.dsl.compiler import INPUT_VERSION_HOOK
from headrace.enums import ArtifactType
from headrace.exceptions import CompilationError, ConfigurationError


class FakeVersion:
    """Stands for any object that knows its artifact version (a response, a handle)."""

    def __init__(self, version_id: str) -> None:
        self.version_id = version_id
        self.asked_with: list[str] = []

    def _headrace_input_version_id(self, default_name: str) -> str:
        self.asked_with.append(default_name)
        return self.version_id


@step
def use(data: dict, factor: int = 2) -> int:
    return len(data) * factor


@step
def configured() -> Annotated[
    dict,
    ArtifactConfig(
        name="features",
        version="v2",
        tags=["a", "b", "a"],
        run_metadata={"rows": 3},
        is_model_artifact=True,
    ),
]:
    return {}


def test_an_artifact_version_becomes_an_input_without_upstream() -> None:
    version = FakeVersion("1234")

    @pipeline
    def p() -> None:
        use(version, factor=3)

    spec = p.compile().spec
    step_spec = spec.steps["use"]
    binding = step_spec.inputs["data"]
    assert binding.artifact_version_id == "1234" and binding.ref is None and binding.refs() == []
    assert step_spec.upstream == [] and step_spec.parameters == {"factor": 3}
    assert version.asked_with == ["p::use::data"]
    assert PipelineSpec.model_validate(json.loads(spec.canonical_json())) == spec
    assert hasattr(FakeVersion, INPUT_VERSION_HOOK)


def test_artifact_config_fields_reach_the_output_spec() -> None:
    @pipeline
    def p() -> None:
        configured()

    output = p.compile().spec.steps["configured"].outputs["features"]
    assert output.artifact_name == "features" and output.artifact_version == "v2"
    assert output.tags == ["a", "b"] and output.run_metadata == {"rows": 3}
    assert output.artifact_type is ArtifactType.MODEL


def test_artifact_config_metadata_must_be_json() -> None:
    @step
    def bad() -> Annotated[int, ArtifactConfig(name="n", run_metadata={"x": object()})]:
        return 1

    @pipeline
    def p() -> None:
        bad()

    with pytest.raises(CompilationError, match="ArtifactConfig run_metadata"):
        p.compile()


def test_external_artifact_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        ExternalArtifact()
    with pytest.raises(ConfigurationError, match="exactly one"):
        ExternalArtifact(value=1, id="x")
    with pytest.raises(ConfigurationError, match="version= needs name="):
        ExternalArtifact(id="x", version=2)
    assert "value=list" in repr(ExternalArtifact(value=[1]))
    assert ExternalArtifact(value=None).has_value


def test_lists_of_versions_are_refused_not_turned_into_parameters() -> None:
    @step
    def many(items: list) -> int:
        return len(items)

    @pipeline
    def p() -> None:
        many([FakeVersion("1"), FakeVersion("2")])

    with pytest.raises(CompilationError, match="input 'items': a list or dict of artifact"):
        p.compile()
