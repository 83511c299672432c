"""``/api/v1/secrets``: names and keys to readers; values only through ``/values``, to
callers who may run pipelines (they hand the values to their steps)."""

from __future__ import annotations

from fastapi import APIRouter, status

from headrace.models import SecretResponse
from headrace.models.wire import SecretCreate, SecretUpdate
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name

router = APIRouter(prefix="/secrets", tags=["secrets"])


@router.get("", response_model=list[SecretResponse])
def list_secrets(store: StoreDep, caller: ReadAccess) -> list[SecretResponse]:
    """Every secret by name, without values."""
    return store.list_secrets()


@router.post("", response_model=SecretResponse, status_code=status.HTTP_201_CREATED)
def create_secret(store: StoreDep, caller: WriteAccess, body: SecretCreate) -> SecretResponse:
    """Store a new secret, encrypted; the answer carries no values."""
    created = store.create_secret(check_name(body.name, "secret"), body.values)
    return created.model_copy(update={"values": None})


@router.get("/{name_or_id}", response_model=SecretResponse)
def get_secret(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> SecretResponse:
    """A secret's name and keys."""
    return store.get_secret(name_or_id)


@router.get("/{name_or_id}/values", response_model=SecretResponse)
def get_secret_values(store: StoreDep, caller: WriteAccess, name_or_id: NameOrId) -> SecretResponse:
    """A secret with its decrypted values."""
    return store.get_secret(name_or_id, with_values=True)


@router.put("/{name_or_id}", response_model=SecretResponse)
def update_secret(
    store: StoreDep, caller: WriteAccess, name_or_id: NameOrId, body: SecretUpdate
) -> SecretResponse:
    """Add or change keys (``replace`` drops the keys not given)."""
    updated = store.update_secret(name_or_id, body.values, replace=body.replace)
    return updated.model_copy(update={"values": None})


@router.delete("/{name_or_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_secret(store: StoreDep, caller: WriteAccess, name_or_id: NameOrId) -> None:
    """Remove a secret."""
    store.delete_secret(name_or_id)
