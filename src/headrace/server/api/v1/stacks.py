"""``/api/v1/stacks``: the stacks runs use (read-only)."""

from __future__ import annotations

from fastapi import APIRouter

from headrace.models import StackResponse
from headrace.server.deps import ReadAccess, StoreDep
from headrace.server.names import NameOrId

router = APIRouter(prefix="/stacks", tags=["stacks"])


@router.get("/default", response_model=StackResponse)
def get_default_stack(store: StoreDep, caller: ReadAccess) -> StackResponse:
    """The stack runs use unless told otherwise."""
    return store.get_default_stack()


@router.get("/{name_or_id}", response_model=StackResponse)
def get_stack(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> StackResponse:
    """A stack by name or id."""
    return store.get_stack(name_or_id)
