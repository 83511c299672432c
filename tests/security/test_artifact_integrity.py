"""Artifact bytes are trusted only when they match the recorded content hash, and only
the materializer the store recorded decides how they are read."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from headrace import ExecutionStatus, pipeline, step
from headrace.artifact_stores.base import LocalArtifactStore
from headrace.artifacts.integrity import artifact_is_whole, verify_artifact
from headrace.artifacts.saving import save_value
from headrace.exceptions import ArtifactIncompatibleError, ArtifactIntegrityError
from headrace.materializers.built_in_materializer import BuiltInContainerMaterializer
from headrace.materializers.cloudpickle_materializer import CloudpickleMaterializer

CALLS: list[str] = []

# These tests tamper with the files of small artifacts: keep them files (the records of
# inline artifacts are tampered with in tests/integration/test_inline_artifacts.py).
pytestmark = pytest.mark.usefixtures("artifacts_as_files")


@step
def make_list() -> list[int]:
    CALLS.append("make_list")
    return [1, 2, 3]


@step
def total(values: list[int]) -> int:
    CALLS.append("total")
    return sum(values)


@pipeline
def chain() -> None:
    total(make_list())


def _data_file(run, step_name: str) -> Path:  # type: ignore[no-untyped-def]
    return Path(run.steps[step_name].output.uri) / "data.json"


def test_cache_hit_whose_file_was_deleted_reruns_the_step(repo: Path) -> None:
    first = chain()
    _data_file(first, "make_list").unlink()
    _data_file(first, "total").unlink()
    CALLS.clear()
    second = chain()
    assert {n: s.status for n, s in second.steps.items()} == {
        "make_list": ExecutionStatus.COMPLETED,
        "total": ExecutionStatus.COMPLETED,
    }
    assert CALLS == ["make_list", "total"]
    assert second.steps["total"].output.load() == 6
    third = chain()  # and the fresh outputs are cache hits again
    assert third.steps["total"].status is ExecutionStatus.CACHED


def test_cache_hit_with_altered_bytes_reruns_the_step(repo: Path) -> None:
    first = chain()
    _data_file(first, "make_list").write_text("[100, 200, 300]")
    CALLS.clear()
    second = chain()
    assert second.steps["make_list"].status is ExecutionStatus.COMPLETED
    assert second.steps["total"].output.load() == 6


def test_loading_altered_bytes_raises_integrity_error_naming_the_artifact(repo: Path) -> None:
    run = chain()
    _data_file(run, "make_list").write_text("[9, 9, 9]")
    with pytest.raises(ArtifactIntegrityError, match="chain::make_list::output"):
        run.steps["make_list"].output.load()


class _Planted:
    """Unpickling this records that a planted pickle was executed."""

    ran: list[str] = []

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_Planted.ran.append, ("unpickled",))


def test_files_planted_next_to_a_json_list_never_switch_the_loader(repo: Path) -> None:
    run = chain()
    directory = Path(run.steps["make_list"].output.uri)
    (directory / "0").mkdir()
    (directory / "0" / "artifact.pkl").write_bytes(pickle.dumps(_Planted()))
    (directory / "0" / "python_version.txt").write_text("3.11.0")
    source = f"{CloudpickleMaterializer.__module__}.{CloudpickleMaterializer.__name__}"
    (directory / "manifest.json").write_text(
        json.dumps(
            {"kind": "list", "keys": [], "items": [{"materializer": source, "data_type": ""}]}
        )
    )
    with pytest.raises(ArtifactIntegrityError):
        run.steps["make_list"].output.load()
    # Even without the hash check, the JSON document the materializer wrote wins.
    store = LocalArtifactStore(str(repo / ".headrace"))
    assert BuiltInContainerMaterializer(str(directory), store).load(list) == [1, 2, 3]
    assert _Planted.ran == []


def test_a_pickle_without_its_version_file_is_not_unpickled(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    uri = str(tmp_path / "obj")
    saved = save_value(
        _Planted(),
        artifact_store=store,
        uri=uri,
        materializer_class=CloudpickleMaterializer,
        collect_metadata=False,
    )
    (Path(uri) / "python_version.txt").unlink()
    with pytest.raises(ArtifactIncompatibleError, match="python_version.txt"):
        CloudpickleMaterializer(uri, store).load(object)
    assert _Planted.ran == []
    assert not artifact_is_whole(store, uri, saved.content_hash)


def test_verify_artifact_checks_presence_and_hash(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    uri = str(tmp_path / "v")
    saved = save_value(
        [1, 2], artifact_store=store, uri=uri, materializer_class=BuiltInContainerMaterializer
    )
    verify_artifact(store, uri, saved.content_hash)
    assert artifact_is_whole(store, uri, saved.content_hash)
    (Path(uri) / "extra").write_text("added")
    assert not artifact_is_whole(store, uri, saved.content_hash)
    assert not artifact_is_whole(store, str(tmp_path / "gone"), saved.content_hash)
