"""What every deployer does: start a deployment's service, say how it stands, stop it,
and show its logs.

A deployer is made from the deployment's record (which holds the deployer
configuration it was deployed with) and acts on the store's record of it: it writes the
handle it needs to find the service again, the URL and the status.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from headrace.enums import DeploymentStatus
from headrace.models import DeploymentResponse, DeploymentUpdate
from headrace.store.base import DeploymentStore, Store


class BaseDeployer(ABC):
    """One flavor's way of running a deployment's service.

    Attributes:
        name: the flavor name.
        waits_for_service: whether ``provision`` returns only once the service answers.
    """

    name: str = ""
    waits_for_service: bool = True

    def __init__(self, store: Store) -> None:
        if not isinstance(store, DeploymentStore):
            from headrace.exceptions import DeploymentError

            raise DeploymentError(
                f"The store at {store.url} keeps no deployments; deploy against the SQL "
                "store the service uses (HEADRACE_STORE_URL)."
            )
        self.store = store
        self.records: DeploymentStore = store

    @abstractmethod
    def provision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        """Start the service of a recorded deployment; returns its updated record.

        Raises:
            DeploymentError: the service could not be started (the record says why).
        """

    @abstractmethod
    def refresh(self, deployment: DeploymentResponse) -> DeploymentResponse:
        """The record, corrected if the service is gone (``failed``)."""

    @abstractmethod
    def deprovision(self, deployment: DeploymentResponse) -> DeploymentResponse:
        """Stop the service (the record stays, ``stopped``)."""

    @abstractmethod
    def logs(self, deployment: DeploymentResponse, follow: bool = False) -> Iterator[str]:
        """The service's output, line by line; with ``follow``, until it stops."""

    def mark(
        self, deployment: DeploymentResponse, status: DeploymentStatus, reason: str | None = None
    ) -> DeploymentResponse:
        """Record ``status`` (and why) for ``deployment``."""
        return self.records.update_deployment(
            deployment.id, DeploymentUpdate(status=status, status_reason=reason)
        )
