"""Find the workload manager named by the server's settings.

``HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE`` is a short name (``local``,
``ray``, ``kubernetes``, ``aws``) or the import path ``package.module.Class`` of a class
implementing :class:`~headrace.server.workload.base.WorkloadManager`. Modules are
imported only when chosen, so the server does not import Ray or the Kubernetes client
unless it uses them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from headrace.exceptions import ServerConfigurationError
from headrace.server.workload.base import WorkloadManager

ENV_IMPLEMENTATION_SOURCE = "HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE"
DEFAULT_SOURCE = "local"

SHORT_NAMES: dict[str, str] = {
    "local": "headrace.server.workload.local.LocalWorkloadManager",
    "ray": "headrace.server.workload.ray.RayWorkloadManager",
    "kubernetes": "headrace.server.workload.kubernetes.KubernetesWorkloadManager",
    "aws": "headrace.server.workload.aws.AWSWorkloadManager",
}


def manager_class(source: str) -> type[WorkloadManager]:
    """The class named by ``source`` (a short name or ``module.Class``)."""
    path = SHORT_NAMES.get(source.strip(), source.strip())
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise ServerConfigurationError(
            f"{ENV_IMPLEMENTATION_SOURCE}={source!r} is neither one of "
            f"{', '.join(sorted(SHORT_NAMES))} nor an import path 'package.module.Class'."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ServerConfigurationError(
            f"{ENV_IMPLEMENTATION_SOURCE}={source!r}: cannot import {module_name!r} ({exc}). "
            "Install the extra it needs (e.g. `pip install 'headrace[ray]'`) or fix the path."
        ) from exc
    found = getattr(module, class_name, None)
    if not (isinstance(found, type) and issubclass(found, WorkloadManager)):
        raise ServerConfigurationError(
            f"{ENV_IMPLEMENTATION_SOURCE}={source!r}: {path!r} is not a WorkloadManager subclass."
        )
    return found


def load_workload_manager(environ: Mapping[str, str] | None = None) -> WorkloadManager:
    """Build the manager the environment chooses (``local`` when it names none)."""
    environ = os.environ if environ is None else environ
    source = environ.get(ENV_IMPLEMENTATION_SOURCE, "").strip() or DEFAULT_SOURCE
    return manager_class(source).from_environment(environ)
