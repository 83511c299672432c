"""Deploying and managing deployments from Python (the CLI calls the same functions).

::

    from headrace.deployments import deploy_snapshot, invoke_deployment

    deployed = deploy_snapshot("nightly", name="scorer")   # the key is shown once
    invoke_deployment("scorer", {"rows": 5}, key=deployed.key)

A deployment is served by the deployer of the active stack (``headrace stack register
... -D DEPLOYER``). Every read of a deployment asks its deployer whether the service is
still there, so a crashed service reads ``failed``, never ``running``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from headrace.deployments.auth import hash_key, new_key
from headrace.deployments.deployers.base import BaseDeployer
from headrace.enums import DeploymentStatus, StackComponentType
from headrace.exceptions import DeploymentError, EntityNotFoundError
from headrace.models import (
    DeploymentFilter,
    DeploymentRequest,
    DeploymentResponse,
    SnapshotResponse,
)
from headrace.store.base import DeploymentStore, Store

_LIVE = (DeploymentStatus.PENDING, DeploymentStatus.RUNNING, DeploymentStatus.PROVISIONED)


@dataclass(frozen=True)
class Deployed:
    """A new deployment and its bearer key (``None`` without one); the key is not kept
    anywhere, so show or store it now.

    Attributes:
        deployment: the record (status, URL, ...).
        key: the bearer key requests must carry.
    """

    deployment: DeploymentResponse
    key: str | None


def _records(store: Store | None) -> tuple[Store, DeploymentStore]:
    from headrace.store.factory import get_store

    opened = store or get_store()
    if not isinstance(opened, DeploymentStore):
        raise DeploymentError(
            f"The store at {opened.url} keeps no deployments: deployments are managed next "
            "to a SQL store (set HEADRACE_STORE_URL to the database the service uses)."
        )
    return opened, opened


def deployer_of(store: Store, deployment: DeploymentResponse) -> BaseDeployer:
    """The deployer implementation of ``deployment``'s flavor."""
    from headrace.stacks.flavors import get_flavor, load_implementation

    flavor = get_flavor(StackComponentType.DEPLOYER, deployment.flavor)
    deployer: BaseDeployer = load_implementation(flavor)(store)
    return deployer


def deploy_snapshot(
    snapshot: str | SnapshotResponse,
    name: str,
    *,
    tracking: bool | None = None,
    auth: bool = True,
    threads: int | None = None,
    max_request_bytes: int | None = None,
    port: int | None = None,
    stack: str | None = None,
    store: Store | None = None,
) -> Deployed:
    """Serve ``snapshot`` as deployment ``name`` with the stack's deployer.

    Options left ``None`` keep the deployer component's value.

    Raises:
        DeploymentError: the stack has no deployer, the name is taken, or the service
            could not start (the record is kept, ``failed``, with the reason).
        EntityNotFoundError: no such snapshot or stack.
    """
    from headrace.stacks.flavors import get_flavor, validate_configuration

    opened, records = _records(store)
    found = snapshot if isinstance(snapshot, SnapshotResponse) else opened.get_snapshot(snapshot)
    chosen = opened.get_stack(stack) if stack is not None else opened.get_active_stack()
    component = chosen.deployer
    if component is None:
        raise DeploymentError(
            f"Stack {chosen.name!r} has no deployer. Register one and add it: headrace "
            "deployer register here --flavor=local && headrace stack update "
            f"{chosen.name} -D here"
        )
    _refuse_taken(records, name)
    overrides = {
        "tracking": tracking,
        "threads": threads,
        "max_request_bytes": max_request_bytes,
        "port": port,
    }
    values = {**component.configuration, **{k: v for k, v in overrides.items() if v is not None}}
    flavor = get_flavor(StackComponentType.DEPLOYER, component.flavor)
    subject = f"deployer {component.name!r} ({component.flavor}) with the deployment's options"
    configuration = validate_configuration(flavor, values, subject=subject)
    key = new_key() if auth else None
    deployment = records.create_deployment(
        DeploymentRequest(
            name=name,
            snapshot_id=found.id,
            stack_id=chosen.id,
            deployer_id=component.id,
            flavor=component.flavor,
            configuration=configuration.model_dump(mode="json"),
            auth_key_hash=hash_key(key) if key is not None else None,
        )
    )
    return Deployed(deployer_of(opened, deployment).provision(deployment), key)


def deploy_pipeline(pipeline: Any, name: str, **options: Any) -> Deployed:
    """Snapshot ``pipeline`` (named ``deployment-<name>``, replacing an older one) and
    serve it as deployment ``name``; ``options`` as for :func:`deploy_snapshot`."""
    opened, records = _records(options.pop("store", None))
    _refuse_taken(records, name)
    snapshot = pipeline.create_snapshot(name=f"deployment-{name}", replace=True)
    return deploy_snapshot(snapshot, name, store=opened, **options)


def _refuse_taken(records: DeploymentStore, name: str) -> None:
    try:
        existing = records.get_deployment(name)
    except EntityNotFoundError:
        return
    raise DeploymentError(
        f"A deployment named {existing.name!r} exists already ({existing.status.value}); "
        f"delete it first (headrace deployment delete {existing.name}) or choose another name."
    )


def get_deployment(name_or_id: str, *, store: Store | None = None) -> DeploymentResponse:
    """A deployment, its status checked with its deployer."""
    opened, records = _records(store)
    deployment = records.get_deployment(name_or_id)
    return deployer_of(opened, deployment).refresh(deployment)


def list_deployments(*, store: Store | None = None) -> list[DeploymentResponse]:
    """Every deployment, newest first, statuses checked with their deployers."""
    opened, records = _records(store)
    page = records.list_deployments(DeploymentFilter(size=10_000))
    return [deployer_of(opened, d).refresh(d) for d in page.items]


def deprovision_deployment(name_or_id: str, *, store: Store | None = None) -> DeploymentResponse:
    """Stop a deployment's service; its record stays (``stopped``)."""
    opened, records = _records(store)
    deployment = records.get_deployment(name_or_id)
    return deployer_of(opened, deployment).deprovision(deployment)


def delete_deployment(name_or_id: str, *, store: Store | None = None) -> None:
    """Stop a deployment's service if it runs, and delete its record."""
    opened, records = _records(store)
    deployment = records.get_deployment(name_or_id)
    if deployment.status in _LIVE:
        deployer_of(opened, deployment).deprovision(deployment)
    records.delete_deployment(deployment.id)


def deployment_logs(
    name_or_id: str, *, follow: bool = False, store: Store | None = None
) -> Iterator[str]:
    """The service's output, line by line (``follow``: until the service stops)."""
    opened, records = _records(store)
    deployment = records.get_deployment(name_or_id)
    return deployer_of(opened, deployment).logs(deployment, follow)


def invoke_deployment(
    name_or_id: str,
    parameters: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    timeout: float = 300.0,
    store: Store | None = None,
) -> dict[str, Any]:
    """``POST /invoke`` to a running deployment; returns its answer
    (``{"outputs": ..., "run_id": ..., "duration_ms": ...}``).

    ``key``: the deployment's bearer key, else ``HEADRACE_DEPLOYMENT_KEY``.

    Raises:
        DeploymentError: the deployment is not running, or refused or failed the call
            (the message carries the service's answer: every bad parameter for a 422).
    """
    import os

    import httpx

    deployment = get_deployment(name_or_id, store=store)
    if deployment.status is not DeploymentStatus.RUNNING or not deployment.url:
        reason = f": {deployment.status_reason}" if deployment.status_reason else ""
        raise DeploymentError(
            f"Deployment {deployment.name!r} is {deployment.status.value}{reason}; it cannot "
            "be invoked."
        )
    credential = key or os.environ.get(ENV_DEPLOYMENT_KEY)
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    try:
        answer = httpx.post(
            f"{deployment.url}/invoke",
            json={"parameters": parameters or {}},
            headers=headers,
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise DeploymentError(
            f"Deployment {deployment.name!r} at {deployment.url} did not answer: {exc}"
        ) from exc
    body = answer.json() if answer.content else {}
    if answer.status_code != 200:
        detail = body.get("detail") if isinstance(body, dict) else body
        raise DeploymentError(
            f"Deployment {deployment.name!r} answered {answer.status_code}: {detail}"
        )
    result: dict[str, Any] = body
    return result


ENV_DEPLOYMENT_KEY = "HEADRACE_DEPLOYMENT_KEY"
