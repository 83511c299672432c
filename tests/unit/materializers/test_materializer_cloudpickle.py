"""The cloudpickle fallback: it warns naming the type, and refuses other Python versions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.loading import load_value
from headrace.artifacts.saving import PYTHON_VERSION, SavedArtifact
from headrace.exceptions import ArtifactError, ArtifactIncompatibleError
from headrace.materializers.cloudpickle_materializer import VERSION_FILE, python_version

RoundTrip = Callable[..., tuple[Any, SavedArtifact]]


class Unregistered:
    def __init__(self, payload: Any) -> None:
        self.payload = payload


def _load(store: ArtifactStore, saved: SavedArtifact, written: str | None) -> Any:
    return load_value(
        uri=saved.uri,
        materializer=saved.materializer,
        data_type=saved.data_type,
        python_version_written=written,
        artifact_store=store,
        name="artifact 'thing' version 3",
    )


def test_fallback_round_trips_and_warns_naming_the_type(
    roundtrip: RoundTrip, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headrace"):
        loaded, saved = roundtrip(Unregistered({"k": [1, 2]}))

    assert isinstance(loaded, Unregistered) and loaded.payload == {"k": [1, 2]}
    assert saved.materializer.endswith("CloudpickleMaterializer")
    assert saved.python_version == PYTHON_VERSION == python_version()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert f"{__name__}.Unregistered" in message and "cloudpickle" in message


def test_functions_and_lambdas_are_pickled_too(roundtrip: RoundTrip) -> None:
    offset = 10
    loaded, _ = roundtrip(lambda x: x + offset)

    assert loaded(1) == 11


def test_other_python_version_is_refused_naming_both_versions(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(Unregistered(1))

    with pytest.raises(ArtifactIncompatibleError) as info:
        _load(artifact_store, saved, "3.9.0")

    message = str(info.value)
    assert "Artifact 'thing' version 3" in message
    assert "Python 3.9.0" in message and f"Python {python_version()}" in message
    assert "Load it with Python 3.9" in message


def test_other_micro_version_is_accepted(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(Unregistered(1))
    major, minor, _micro = python_version().split(".")

    assert _load(artifact_store, saved, f"{major}.{minor}.999").payload == 1


def test_incompatible_error_is_an_artifact_error(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip(Unregistered(1))

    with pytest.raises(ArtifactError):
        _load(artifact_store, saved, "2.7.18")


def test_json_artifacts_load_under_any_recorded_version(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    _, saved = roundtrip({"portable": True})

    assert _load(artifact_store, saved, "3.9.0") == {"portable": True}


def test_pickled_element_of_a_container_is_checked_too(
    roundtrip: RoundTrip, artifact_store: ArtifactStore
) -> None:
    # The container itself is JSON, so the version on the artifact version does not stop
    # the load; the version written next to the pickled element does.
    _, saved = roundtrip([1, Unregistered(2)])
    version_file = artifact_store.join(saved.uri, "1", VERSION_FILE)
    with artifact_store.open(version_file) as handle:
        assert handle.read() == python_version()
    with artifact_store.open(version_file, "w") as handle:
        handle.write("3.9.0")

    with pytest.raises(ArtifactIncompatibleError, match=r"3\.9\.0"):
        _load(artifact_store, saved, python_version())


def test_missing_files_are_reported(roundtrip: RoundTrip, artifact_store: ArtifactStore) -> None:
    _, saved = roundtrip(Unregistered(1))
    artifact_store.rmtree(saved.uri)

    with pytest.raises(ArtifactError, match="missing from the artifact store"):
        _load(artifact_store, saved, python_version())
