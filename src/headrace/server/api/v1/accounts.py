"""``/api/v1/users`` and ``/api/v1/service_accounts`` (with their ``api_keys``): admins
only. Passwords go in, never out; an API key is in the answer to its creation only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from headrace.models import (
    APIKeyFilter,
    APIKeyRequest,
    APIKeyResponse,
    Page,
    ServiceAccountFilter,
    ServiceAccountRequest,
    ServiceAccountResponse,
    ServiceAccountUpdate,
    UserFilter,
    UserRequest,
    UserResponse,
    UserUpdate,
)
from headrace.server.deps import AdminAccess, StoreDep
from headrace.server.names import NameOrId

users = APIRouter(prefix="/users", tags=["accounts"])
service_accounts = APIRouter(prefix="/service_accounts", tags=["accounts"])


@users.get("", response_model=Page[UserResponse])
def list_users(
    store: StoreDep, caller: AdminAccess, query: Annotated[UserFilter, Query()]
) -> Page[UserResponse]:
    """Users (filters: ``name``, ``role``, ``active``; paged)."""
    return store.list_users(query)


@users.post("", response_model=UserResponse, status_code=status.HTTP_201_CREATED)
def create_user(store: StoreDep, caller: AdminAccess, body: UserRequest) -> UserResponse:
    """Create a user (the password is stored as an argon2 hash)."""
    return store.create_user(body)


@users.get("/{name_or_id}", response_model=UserResponse)
def get_user(store: StoreDep, caller: AdminAccess, name_or_id: NameOrId) -> UserResponse:
    """A user by name or id."""
    return store.get_user(name_or_id)


@users.put("/{name_or_id}", response_model=UserResponse)
def update_user(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, body: UserUpdate
) -> UserResponse:
    """Change a user's role, password or active flag (effective on the next request)."""
    return store.update_user(name_or_id, body)


@service_accounts.get("", response_model=Page[ServiceAccountResponse])
def list_service_accounts(
    store: StoreDep, caller: AdminAccess, query: Annotated[ServiceAccountFilter, Query()]
) -> Page[ServiceAccountResponse]:
    """Service accounts (filters: ``name``, ``role``, ``active``; paged)."""
    return store.list_service_accounts(query)


@service_accounts.post(
    "", response_model=ServiceAccountResponse, status_code=status.HTTP_201_CREATED
)
def create_service_account(
    store: StoreDep, caller: AdminAccess, body: ServiceAccountRequest
) -> ServiceAccountResponse:
    """Create a service account."""
    return store.create_service_account(body)


@service_accounts.get("/{name_or_id}", response_model=ServiceAccountResponse)
def get_service_account(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId
) -> ServiceAccountResponse:
    """A service account by name or id."""
    return store.get_service_account(name_or_id)


@service_accounts.put("/{name_or_id}", response_model=ServiceAccountResponse)
def update_service_account(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, body: ServiceAccountUpdate
) -> ServiceAccountResponse:
    """Change a service account's role, description or active flag."""
    return store.update_service_account(name_or_id, body)


@service_accounts.get("/{name_or_id}/api_keys", response_model=Page[APIKeyResponse])
def list_api_keys(
    store: StoreDep,
    caller: AdminAccess,
    name_or_id: NameOrId,
    query: Annotated[APIKeyFilter, Query()],
) -> Page[APIKeyResponse]:
    """The service account's API keys (never the keys themselves)."""
    return store.list_api_keys(name_or_id, query)


@service_accounts.post(
    "/{name_or_id}/api_keys",
    response_model=APIKeyResponse,
    status_code=status.HTTP_201_CREATED,
)
def create_api_key(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, body: APIKeyRequest
) -> APIKeyResponse:
    """Create an API key; ``key`` in this answer is the only time it is shown."""
    return store.create_api_key(name_or_id, body)


@service_accounts.get("/{name_or_id}/api_keys/{key_name_or_id}", response_model=APIKeyResponse)
def get_api_key(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, key_name_or_id: NameOrId
) -> APIKeyResponse:
    """One API key of the service account."""
    return store.get_api_key(name_or_id, key_name_or_id)


@service_accounts.post(
    "/{name_or_id}/api_keys/{key_name_or_id}/revoke", response_model=APIKeyResponse
)
def revoke_api_key(
    store: StoreDep, caller: AdminAccess, name_or_id: NameOrId, key_name_or_id: NameOrId
) -> APIKeyResponse:
    """Revoke an API key: it and the tokens made from it stop working at once."""
    return store.revoke_api_key(name_or_id, key_name_or_id)
