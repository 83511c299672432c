"""``/api/v1/models`` and ``/api/v1/model_versions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from headrace.models import (
    ModelFilter,
    ModelResponse,
    ModelVersionFilter,
    ModelVersionRequest,
    ModelVersionResponse,
    ModelVersionUpdate,
    Page,
)
from headrace.models.wire import ModelVersionLinks
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId
from headrace.server.queries import ModelQuery, ModelVersionQuery, to_filter

router = APIRouter(tags=["models"])


@router.get("/models", response_model=Page[ModelResponse])
def list_models(
    store: StoreDep, caller: ReadAccess, query: Annotated[ModelQuery, Query()]
) -> Page[ModelResponse]:
    """Models, newest first."""
    return store.list_models(to_filter(query, ModelFilter))


@router.get("/models/{name_or_id}", response_model=ModelResponse)
def get_model(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> ModelResponse:
    """A model by name or id."""
    return store.get_model(name_or_id)


@router.get("/models/{name_or_id}/versions/{version}", response_model=ModelVersionResponse)
def get_model_version_of(
    store: StoreDep, caller: ReadAccess, name_or_id: NameOrId, version: NameOrId
) -> ModelVersionResponse:
    """A version of a model by name, number or stage (``latest``, ``production``, ...)."""
    return store.get_model_version(name_or_id, version)


@router.get("/model_versions", response_model=Page[ModelVersionResponse])
def list_model_versions(
    store: StoreDep, caller: ReadAccess, query: Annotated[ModelVersionQuery, Query()]
) -> Page[ModelVersionResponse]:
    """Model versions, newest first."""
    return store.list_model_versions(to_filter(query, ModelVersionFilter))


@router.post("/model_versions/resolve", response_model=ModelVersionResponse)
def resolve_model_version(
    store: StoreDep, caller: WriteAccess, body: ModelVersionRequest
) -> ModelVersionResponse:
    """The model version a run works on, created as needed (see ``ModelVersionRequest``)."""
    return store.resolve_model_version(body)


@router.get("/model_versions/{version_id}", response_model=ModelVersionResponse)
def get_model_version(
    store: StoreDep, caller: ReadAccess, version_id: NameOrId
) -> ModelVersionResponse:
    """A model version by id, or the latest version of the model so named."""
    return store.get_model_version(version_id)


@router.put("/model_versions/{version_id}", response_model=ModelVersionResponse)
def update_model_version(
    store: StoreDep, caller: WriteAccess, version_id: NameOrId, body: ModelVersionUpdate
) -> ModelVersionResponse:
    """Change a version's stage, name or description."""
    return store.update_model_version(version_id, body)


@router.post("/model_versions/{version_id}/links", status_code=status.HTTP_204_NO_CONTENT)
def link_model_version(
    store: StoreDep, caller: WriteAccess, version_id: NameOrId, body: ModelVersionLinks
) -> None:
    """Link runs and artifact versions to a model version."""
    store.link_model_version(
        version_id,
        pipeline_run_ids=body.pipeline_run_ids,
        artifact_version_ids=body.artifact_version_ids,
    )
