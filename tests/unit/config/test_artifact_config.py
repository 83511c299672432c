"""ArtifactConfig: the older boolean spellings become artifact types; bad input is named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headrace import ArtifactConfig
from headrace.config.docker_settings import DockerSettings
from headrace.enums import ArtifactType
from headrace.snapshots.environment import dockerfile


def test_flags_become_artifact_types() -> None:
    assert ArtifactConfig(is_model_artifact=True).artifact_type is ArtifactType.MODEL
    assert ArtifactConfig(is_deployment_artifact=True).artifact_type is ArtifactType.SERVICE
    assert ArtifactConfig(artifact_type="ModelArtifact", is_model_artifact=True).artifact_type is (
        ArtifactType.MODEL
    )
    assert ArtifactConfig(name="x").artifact_type is None


def test_contradictions_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="exclude each other"):
        ArtifactConfig(is_model_artifact=True, is_deployment_artifact=True)
    with pytest.raises(ValidationError, match="contradicts"):
        ArtifactConfig(artifact_type=ArtifactType.DATA, is_model_artifact=True)
    with pytest.raises(ValidationError, match="nmae"):
        ArtifactConfig(nmae="typo")


def test_docker_environment_takes_any_value_and_leaves_none_out_of_the_image() -> None:
    settings = DockerSettings(environment={"TOKEN": None, "WORKERS": 4, "MODE": "fast"})
    assert settings.environment == {"TOKEN": None, "WORKERS": 4, "MODE": "fast"}
    text = dockerfile(settings)
    assert "ENV WORKERS=4" in text and "ENV MODE=fast" in text and "TOKEN" not in text
