"""``/api/v1/pipelines``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from headrace.models import Page, PipelineFilter, PipelineResponse
from headrace.models.wire import PipelineCreate
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import PipelineQuery, to_filter

router = APIRouter(prefix="/pipelines", tags=["pipelines"])


@router.get("", response_model=Page[PipelineResponse])
def list_pipelines(
    store: StoreDep, caller: ReadAccess, query: Annotated[PipelineQuery, Query()]
) -> Page[PipelineResponse]:
    """Pipelines, newest first; ``name=contains:x`` and the other operators work."""
    return store.list_pipelines(to_filter(query, PipelineFilter))


@router.post("", response_model=PipelineResponse, status_code=status.HTTP_201_CREATED)
def get_or_create_pipeline(
    store: StoreDep, caller: WriteAccess, body: PipelineCreate
) -> PipelineResponse:
    """The pipeline of that name, recorded if it is new."""
    return store.get_or_create_pipeline(check_name(body.name, "pipeline"), body.docstring)


@router.get("/{name_or_id}", response_model=PipelineResponse)
def get_pipeline(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> PipelineResponse:
    """A pipeline by name, id or unique id prefix."""
    return store.get_pipeline(name_or_id)
