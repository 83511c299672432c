"""``/api/v1/tags`` and ``/api/v1/run_metadata``."""

from __future__ import annotations

from fastapi import APIRouter, status

from headrace.metadata.metadata_types import decode_metadata
from headrace.models import TagResponse
from headrace.models.wire import MetadataRequest, TagChange
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess

router = APIRouter(tags=["tags"])


@router.get("/tags", response_model=list[TagResponse])
def list_tags(store: StoreDep, caller: ReadAccess) -> list[TagResponse]:
    """Every tag by name, with how many resources carry it."""
    return store.list_tags()


@router.post("/tags/add", status_code=status.HTTP_204_NO_CONTENT)
def add_tags(store: StoreDep, caller: WriteAccess, body: TagChange) -> None:
    """Attach tags to one resource."""
    store.add_tags(body.resource_type, body.resource_id, body.tags)


@router.post("/tags/remove", status_code=status.HTTP_204_NO_CONTENT)
def remove_tags(store: StoreDep, caller: WriteAccess, body: TagChange) -> None:
    """Detach tags from one resource."""
    store.remove_tags(body.resource_type, body.resource_id, body.tags)


@router.post("/run_metadata", status_code=status.HTTP_204_NO_CONTENT)
def add_run_metadata(store: StoreDep, caller: WriteAccess, body: MetadataRequest) -> None:
    """Merge metadata (with its type names) into a run, step run or version."""
    metadata = decode_metadata(body.metadata, body.metadata_types)
    store.add_run_metadata(body.resource_type, body.resource_id, metadata)
