"""Deployments: a snapshot served as a long-running HTTP service, as recorded in the store.

The record says which snapshot is served, by which deployer (flavor and configuration
as they were when it was deployed), where (``url``), how it stands (``status``), and
how the deployer finds the service again (``handle``: a process id and start time, a
container id, manifest paths). Only a hash of the deployment's bearer key is stored.
"""

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.enums import DeploymentStatus
from headrace.models.base import RequestModel, ResponseModel
from headrace.models.filters import BaseFilter
from headrace.utils.factories import new_dict


class DeploymentRequest(RequestModel):
    """Record a new deployment (before its service starts).

    Attributes:
        name: unique name; the CLI and ``invoke`` find the deployment by it.
        snapshot_id: the snapshot served.
        stack_id: the stack whose deployer serves it (and whose artifact store runs use).
        deployer_id: the deployer component.
        flavor: the deployer's flavor.
        configuration: the deployer's configuration, with the deployment's overrides.
        status: where it stands.
        url: where it answers, once known.
        auth_key_hash: hash of the bearer key, when the deployment has one.
        handle: what the deployer needs to find the service again.
    """

    name: str = Field(min_length=1, max_length=255)
    snapshot_id: str
    stack_id: str
    deployer_id: str
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=new_dict)
    status: DeploymentStatus = DeploymentStatus.PENDING
    status_reason: str | None = None
    url: str | None = None
    auth_key_hash: str | None = None
    handle: dict[str, Any] = Field(default_factory=new_dict)


class DeploymentUpdate(RequestModel):
    """Change a deployment's state (fields left unset are kept)."""

    status: DeploymentStatus | None = None
    status_reason: str | None = None
    url: str | None = None
    handle: dict[str, Any] | None = None


class DeploymentResponse(ResponseModel):
    """A deployment as stored."""

    name: str
    snapshot_id: str
    stack_id: str
    deployer_id: str
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=new_dict)
    status: DeploymentStatus
    status_reason: str | None = None
    url: str | None = None
    auth_key_hash: str | None = Field(default=None, repr=False)
    handle: dict[str, Any] = Field(default_factory=new_dict)
    updated: datetime

    @property
    def has_auth_key(self) -> bool:
        """Whether requests need the deployment's bearer key (or a server token)."""
        return self.auth_key_hash is not None


class DeploymentFilter(BaseFilter):
    """Filter deployments."""

    status: str | None = None
    snapshot_id: str | None = None
