"""Snapshots: immutable, stored pipeline specs; named ones can be run by others."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from headrace.config.spec import PipelineSpec
from headrace.models.base import RequestModel, ResponseModel


class SnapshotRequest(RequestModel):
    """A snapshot to store; unnamed ones are deduplicated by spec hash."""

    id: str
    name: str | None = None
    description: str | None = None
    pipeline_id: str
    stack_id: str
    spec: PipelineSpec
    spec_hash: str
    runnable: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)


class SnapshotResponse(ResponseModel):
    """A stored snapshot."""

    name: str | None = None
    description: str | None = None
    pipeline_id: str
    pipeline_name: str | None = None
    stack_id: str
    spec: PipelineSpec
    spec_hash: str
    runnable: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)
