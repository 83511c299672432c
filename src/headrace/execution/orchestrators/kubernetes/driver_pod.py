"""The launching side of a driver pod: create it, and tell when it is gone.

The launching process (``my_pipeline()``, a snapshot's runner) records the run, then
creates one pod that drives it (``driver``) and records that pod as the run's driver
(``driver_host`` ``pod <namespace>/<name>``, no pid: readers of the run then judge the
driver by its heartbeat, which the driver pod writes once it claims the run). While it
follows the run, the launching process also reads the driver pod: a driver pod that
ended, vanished or cannot start (image not pulled, unschedulable for longer than
``pod_startup_timeout_s``) ends the run at once with the pod's reason, instead of after
the heartbeat limit.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from headrace.config.source import is_importable_source
from headrace.exceptions import OrchestratorError
from headrace.execution.orchestrators.base import RemoteDriver
from headrace.execution.orchestrators.kubernetes import manifests
from headrace.execution.orchestrators.kubernetes.pod_status import (
    HOPELESS_WAITING,
    api_message,
    termination,
    waiting_reason,
)
from headrace.models import PipelineRunUpdate
from headrace.utils.env import ENV_RUN_HEARTBEAT_TIMEOUT, ENV_STORE_URL
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.config.resource_settings import ResourceSettings
    from headrace.execution.run_state import RunState
    from headrace.execution.step_task import CodeLocation
    from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig

logger = headrace_logger()

DRIVER_POD_ENV = "HEADRACE_KUBERNETES_DRIVER_POD"


class DriverPod(RemoteDriver):
    """The driver pod of one run, seen from the process that launched the run."""

    def __init__(self, config: KubernetesOrchestratorConfig, run: RunState) -> None:
        self.config = config
        self.state = run
        self.namespace = config.kubernetes_namespace
        self.name = manifests.driver_pod_name(run.run.id, run.run.name, config.pod_name_prefix)
        self._api: Any = None
        self._created = 0.0
        self._next_check = 0.0

    def start(self, code: CodeLocation | None) -> None:
        from headrace.execution.orchestrators.kubernetes.api import (
            api_host,
            check_namespace,
            core_api,
        )
        from headrace.execution.orchestrators.kubernetes.orchestrator import run_image

        state = self.state
        spec = state.spec
        if spec.config.dynamic and not is_importable_source(spec.source):
            raise OrchestratorError(
                f"The dynamic pipeline {spec.name!r} is defined where a fresh process cannot "
                f"import it ({spec.source}), and its driver pod runs its function: define "
                "it at module level, or keep the driver here with "
                "settings={'orchestrator.kubernetes': {'driver_pod': False}}."
            )
        image = run_image(state.store, state.run.snapshot_id, self.config)
        self._api = core_api(self.config)
        check_namespace(self._api, self.namespace, state.run.id)
        environment = {ENV_STORE_URL: state.store.url, DRIVER_POD_ENV: self.name}
        if os.environ.get(ENV_RUN_HEARTBEAT_TIMEOUT):  # readers and driver agree on it
            environment[ENV_RUN_HEARTBEAT_TIMEOUT] = os.environ[ENV_RUN_HEARTBEAT_TIMEOUT]
        pod = manifests.build_driver_pod(
            state.run.id,
            state.run.name,
            self.config,
            image,
            environment,
            None if code is None else (code.digest, code.uri),
            self._resources(),
        )
        try:
            self._api.create_namespaced_pod(self.namespace, pod)
        except Exception as exc:
            raise OrchestratorError(
                f"Cannot create the driver pod of run {state.run.name!r} in namespace "
                f"{self.namespace!r} at {api_host(self._api)}: {api_message(exc)}"
            ) from exc
        self._created = time.monotonic()
        state.store.update_run(
            state.run.id,
            PipelineRunUpdate(
                driver_host=f"pod {self.namespace}/{self.name}",
                driver_pid=None,
                driver_started=None,
            ),
        )
        logger.info(
            "Run %r is driven by pod %s (kubectl logs -f %s -n %s).",
            state.run.name,
            self.name,
            self.name,
            self.namespace,
        )

    def gone(self) -> str | None:
        if self._api is None or time.monotonic() < self._next_check:
            return None
        self._next_check = time.monotonic() + self.config.poll_interval_s
        try:
            item = self._api.read_namespaced_pod(self.name, self.namespace)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return f"its driver pod {self.name} was deleted"
            logger.debug("Cannot read driver pod %s (will retry): %s", self.name, exc)
            return None  # the API is away for a moment: the heartbeat limit still holds
        status = item.status
        phase = status.phase if status is not None else None
        if phase in ("Succeeded", "Failed"):
            return f"its driver pod {self.name} ended ({termination(item)})"
        if phase in (None, "Pending"):
            reason = waiting_reason(item)
            waited = time.monotonic() - self._created
            if reason in HOPELESS_WAITING or waited > self.config.pod_startup_timeout_s:
                self.delete()
                return (
                    f"its driver pod {self.name} did not start within {waited:.0f}s "
                    f"({reason or 'pending'}); see kubectl describe pod {self.name} "
                    f"-n {self.namespace}"
                )
        return None

    def delete(self) -> None:
        """Delete the driver pod (its step pods go with it: they are owned by it)."""
        try:
            self._api.delete_namespaced_pod(self.name, self.namespace, grace_period_seconds=0)
        except Exception as exc:  # already gone
            logger.debug("Driver pod %s not deleted: %s", self.name, api_message(exc))

    def close(self) -> None:
        api_client = getattr(self._api, "api_client", None)
        if api_client is not None:
            api_client.close()
        self._api = None

    def _resources(self) -> ResourceSettings | None:
        """The pipeline's ``resources`` when the steps run in the driver pod; a driver
        that only schedules takes what ``orchestrator_pod_settings`` asks for."""
        if not self.config.run_steps_in_driver:
            return None
        values = self.state.spec.config.settings.get("resources")
        if not values:
            return None
        from headrace.config.resource_settings import ResourceSettings

        return ResourceSettings.model_validate(values)
