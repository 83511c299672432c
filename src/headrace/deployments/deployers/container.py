"""What the container flavors (docker, kubernetes) share: the image and the command.

The container runs ``python -m headrace.deployments.serve ID`` listening on every
interface; the image must contain headrace and the store's client, and reach the store
(``HEADRACE_STORE_URL``).
"""

from __future__ import annotations

from headrace.exceptions import DeploymentError
from headrace.models import DeploymentResponse, SnapshotResponse


def service_command(deployment: DeploymentResponse, port: int) -> list[str]:
    """The container's command."""
    return [
        "python",
        "-m",
        "headrace.deployments.serve",
        deployment.id,
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
    ]


def image_of(deployment: DeploymentResponse, snapshot: SnapshotResponse) -> str:
    """The configured image, else the snapshot's built image.

    Raises:
        DeploymentError: neither exists.
    """
    configured = deployment.configuration.get("image")
    if configured:
        return str(configured)
    image = snapshot.extra.get("image") or {}
    if image.get("built") and image.get("tag"):
        return str(image["tag"])
    reason = image.get("message") or "the snapshot has no built image"
    raise DeploymentError(
        f"Deployment {deployment.name!r} needs a container image and {reason}: set the "
        "deployer's image (headrace deployer update NAME --image=REPO:TAG) or build the "
        "snapshot's image with a container engine present."
    )
