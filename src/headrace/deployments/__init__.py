"""Deployments: a snapshot served as a long-running HTTP service.

``POST /invoke`` with ``{"parameters": {...}}`` runs the pipeline once and answers its
outputs; ``GET /health`` and ``GET /info`` describe the service. The pieces:

* ``runtime``: the snapshot loaded and warm in the service process, invoked per request
  (tracked through the ordinary launcher, or untracked in memory: ``memory_run``);
* ``service`` / ``serve``: the FastAPI app and the process that runs it;
* ``auth``: the deployment's bearer key and the server's tokens;
* ``deployers``: where the service runs (``local`` process, ``docker`` container,
  ``kubernetes`` Deployment and Service), one per deployer flavor;
* ``manage``: deploy, list, describe, invoke, logs, deprovision and delete.

Only the records live in the store (``DeploymentStore``); no pipeline code runs here
except in the service process.
"""

from headrace.deployments.manage import (
    Deployed,
    delete_deployment,
    deploy_pipeline,
    deploy_snapshot,
    deployment_logs,
    deprovision_deployment,
    get_deployment,
    invoke_deployment,
    list_deployments,
)

__all__ = [
    "Deployed",
    "delete_deployment",
    "deploy_pipeline",
    "deploy_snapshot",
    "deployment_logs",
    "deprovision_deployment",
    "get_deployment",
    "invoke_deployment",
    "list_deployments",
]
