"""``/api/v1/stacks`` and ``/api/v1/components``: stacks, their components, the active
stack. Configurations are checked against their flavor by the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from headrace.enums import StackComponentType
from headrace.models import (
    Page,
    StackComponentFilter,
    StackComponentRequest,
    StackComponentResponse,
    StackComponentUpdate,
    StackFilter,
    StackRequest,
    StackResponse,
    StackUpdate,
)
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import ComponentQuery, StackQuery, to_filter

router = APIRouter(tags=["stacks"])


class ActiveStack(BaseModel):
    """The stack to make active."""

    model_config = ConfigDict(extra="forbid")

    name_or_id: str = Field(min_length=1, max_length=255)


@router.get("/stacks", response_model=Page[StackResponse])
def list_stacks(
    store: StoreDep, caller: ReadAccess, query: Annotated[StackQuery, Query()]
) -> Page[StackResponse]:
    """Stacks, by name."""
    return store.list_stacks(to_filter(query, StackFilter))


@router.post("/stacks", response_model=StackResponse, status_code=status.HTTP_201_CREATED)
def create_stack(store: StoreDep, caller: WriteAccess, body: StackRequest) -> StackResponse:
    """Register a stack of existing components."""
    check_name(body.name, "stack")
    return store.create_stack(body)


@router.get("/stacks/default", response_model=StackResponse)
def get_default_stack(store: StoreDep, caller: ReadAccess) -> StackResponse:
    """The stack named ``default``."""
    return store.get_default_stack()


@router.get("/stacks/active", response_model=StackResponse)
def get_active_stack(store: StoreDep, caller: ReadAccess) -> StackResponse:
    """The stack runs use."""
    return store.get_active_stack()


@router.put("/stacks/active", response_model=StackResponse)
def set_active_stack(store: StoreDep, caller: WriteAccess, body: ActiveStack) -> StackResponse:
    """Make a stack the active one for everyone using this server."""
    return store.set_active_stack(body.name_or_id)


@router.get("/stacks/{name_or_id}", response_model=StackResponse)
def get_stack(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> StackResponse:
    """A stack by name or id."""
    return store.get_stack(name_or_id)


@router.put("/stacks/{name_or_id}", response_model=StackResponse)
def update_stack(
    store: StoreDep, caller: WriteAccess, name_or_id: NameOrId, body: StackUpdate
) -> StackResponse:
    """Rename a stack and/or change its components."""
    if body.name is not None:
        check_name(body.name, "stack")
    return store.update_stack(name_or_id, body)


@router.delete("/stacks/{name_or_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_stack(store: StoreDep, caller: WriteAccess, name_or_id: NameOrId) -> None:
    """Remove a stack nothing depends on."""
    store.delete_stack(name_or_id)


@router.get("/components", response_model=Page[StackComponentResponse])
def list_stack_components(
    store: StoreDep, caller: ReadAccess, query: Annotated[ComponentQuery, Query()]
) -> Page[StackComponentResponse]:
    """Stack components, by name."""
    return store.list_stack_components(to_filter(query, StackComponentFilter))


@router.post(
    "/components", response_model=StackComponentResponse, status_code=status.HTTP_201_CREATED
)
def create_stack_component(
    store: StoreDep, caller: WriteAccess, body: StackComponentRequest
) -> StackComponentResponse:
    """Register a component (its configuration checked by its flavor)."""
    check_name(body.name, "stack component")
    return store.create_stack_component(body)


@router.get("/components/{name_or_id}", response_model=StackComponentResponse)
def get_stack_component(
    store: StoreDep,
    caller: ReadAccess,
    name_or_id: NameOrId,
    type: StackComponentType | None = None,
) -> StackComponentResponse:
    """A component by id, or by name (unique per ``type``)."""
    return store.get_stack_component(name_or_id, type)


@router.put("/components/{name_or_id}", response_model=StackComponentResponse)
def update_stack_component(
    store: StoreDep,
    caller: WriteAccess,
    name_or_id: NameOrId,
    body: StackComponentUpdate,
    type: StackComponentType | None = None,
) -> StackComponentResponse:
    """Rename a component and/or replace its configuration."""
    if body.name is not None:
        check_name(body.name, "stack component")
    return store.update_stack_component(name_or_id, body, type)


@router.delete("/components/{name_or_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_stack_component(
    store: StoreDep,
    caller: WriteAccess,
    name_or_id: NameOrId,
    type: StackComponentType | None = None,
) -> None:
    """Remove a component no stack uses."""
    store.delete_stack_component(name_or_id, type)
