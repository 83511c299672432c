"""Inline artifact bytes through every store backend (SqlStore on SQLite and PostgreSQL,
RestStore over a real server, where they travel as base64): written, read back byte for
byte, found by a cache lookup, and loaded from the record."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from headrace.artifact_stores.base import LocalArtifactStore
from headrace.artifacts.inline import encode_files
from headrace.artifacts.loading import load_artifact_version
from headrace.artifacts.saving import save_value
from headrace.enums import ExecutionStatus
from headrace.materializers.built_in_materializer import BuiltInContainerMaterializer
from headrace.models import (
    ArtifactVersionRequest,
    PipelineRunRequest,
    StepRunRequest,
    StepRunUpdate,
)
from headrace.store.base import Store
from headrace.store.rest import RestStore


def _id() -> str:
    return str(uuid.uuid4())


def test_inline_bytes_round_trip_through_the_store(contract_store: Store, tmp_path: Path) -> None:
    stack = contract_store.get_default_stack()
    run = contract_store.create_run(
        PipelineRunRequest(
            id=_id(), name="inline", pipeline_id=None, snapshot_id=None, stack_id=stack.id
        )
    )
    saved = save_value(
        {"answer": 42, "raw": [0, 255]},
        artifact_store=LocalArtifactStore(str(tmp_path / "artifacts")),
        uri=str(tmp_path / "artifacts" / "v"),
        materializer_class=BuiltInContainerMaterializer,
    )
    assert saved.inline is not None
    hostile = encode_files({"data.bin": bytes(range(256))})  # not UTF-8 anywhere
    requests = {
        "out": [
            ArtifactVersionRequest(
                id=_id(),
                artifact_name="inline::s::out",
                uri=saved.uri,
                materializer=saved.materializer,
                data_type=saved.data_type,
                content_hash=saved.content_hash,
                size=saved.size,
                artifact_store_id=stack.id,
                inline_content=saved.inline,
            )
        ],
        "files": [
            ArtifactVersionRequest(
                id=_id(),
                artifact_name="inline::s::files",
                uri=str(tmp_path / "elsewhere"),
                materializer=saved.materializer,
                data_type=saved.data_type,
                content_hash="0" * 64,
                size=1,
                artifact_store_id=stack.id,
            )
        ],
    }
    step_id = _id()
    contract_store.complete_step_run(
        step_id,
        StepRunUpdate(status=ExecutionStatus.COMPLETED),
        requests,
        create=[
            StepRunRequest(
                id=step_id,
                pipeline_run_id=run.id,
                name="s",
                step_name="s",
                status=ExecutionStatus.RUNNING,
                cache_key="7" * 64,
            )
        ],
    )
    contract_store.flush()
    version = contract_store.get_artifact_version(requests["out"][0].id)
    assert version.inline_content == saved.inline and version.is_inline
    assert version.uri == saved.uri
    assert contract_store.get_artifact_version(requests["files"][0].id).inline_content is None
    listed = contract_store.get_artifact_versions([requests["out"][0].id])
    assert listed[requests["out"][0].id].inline_content == saved.inline
    step = contract_store.list_step_runs(run.id)["s"]
    assert step.outputs["out"][0].inline_content == saved.inline
    hit = contract_store.find_cache_hit("7" * 64)
    assert hit is not None
    assert hit.outputs["out"][0].inline_content == saved.inline
    assert hit.outputs["files"][0].inline_content is None
    assert load_artifact_version(version, contract_store) == {"answer": 42, "raw": [0, 255]}

    other = contract_store.create_artifact_version(
        requests["out"][0].model_copy(
            update={"id": _id(), "artifact_name": "raw", "inline_content": hostile}
        )
    )
    assert contract_store.get_artifact_version(other.id).inline_content == hostile
    if isinstance(contract_store, RestStore):  # the download serves the record's bytes
        answer = httpx.get(
            f"{contract_store.url}/api/v1/artifact_versions/{version.id}/data",
            headers=contract_store._headers,  # the fixture's login
        )
        assert answer.status_code == 200, answer.text
        assert answer.content == b'{"answer": 42, "raw": [0, 255]}'
        preview = httpx.get(
            f"{contract_store.url}/api/v1/artifact_versions/{version.id}/preview",
            headers=contract_store._headers,
        )
        assert preview.status_code == 200, preview.text
        assert '"answer": 42' in preview.json()["text"]
        garbled = contract_store.create_artifact_version(
            requests["out"][0].model_copy(
                update={"id": _id(), "artifact_name": "bad", "inline_content": b"HRI1\x00"}
            )
        )
        refused = httpx.get(
            f"{contract_store.url}/api/v1/artifact_versions/{garbled.id}/data",
            headers=contract_store._headers,
        )
        assert refused.status_code >= 400 and "not a valid inline artifact" in refused.text
