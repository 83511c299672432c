"""The Kubernetes orchestrator: each step task runs in a pod of its own.

By default the run's driver is a pod too (``driver_pod``, ``driver_pod.DriverPod``):
the launching process starts it and follows the run; the driver pod (``driver``) runs
this orchestrator, or every step itself with ``run_steps_in_driver``.

``submit`` creates the step's pod (or queues the task while ``max_parallelism`` pods
are running); ``wait`` lists the run's pods by label every ``poll_interval_s`` and turns
each pod that ended into the step's result, read from the store (``results``); ``stop``
creates nothing more and, unless graceful, deletes the running pods (their steps end
``stopped``; the driver removes what they had half written). Pods stuck ``Pending``
longer than ``pod_startup_timeout_s`` (unschedulable, image not pulled) are deleted and
their steps fail with the pod's reason.

The run's driver (the process that launched the run, or a pod running it) keeps the
scheduler: dependency counting, execution modes, caching decisions in the step itself.
Steps import their code from the run's code archive in the artifact store
(``needs_code_archive``), so the image needs headrace and the step's requirements, not
the project's source. The artifact store and the store must be reachable from the
pods: a local directory or a SQLite file only works where the pods share that path.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from headrace.enums import ExecutionStatus
from headrace.exceptions import OrchestratorError, StepExecutionError, StepInterruptedError
from headrace.execution.orchestrators.base import BaseOrchestrator, RemoteDriver, RunInProcess
from headrace.execution.orchestrators.kubernetes import manifests
from headrace.execution.orchestrators.kubernetes.pod_status import (
    HOPELESS_WAITING,
    api_message,
    termination,
    waiting_reason,
)
from headrace.execution.orchestrators.kubernetes.results import recorded_result
from headrace.execution.step_task import StepResult, StepTask
from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.config.resource_settings import ResourceSettings
    from headrace.execution.run_state import RunState
    from headrace.models.stack import StackResponse
    from headrace.store.base import Store

logger = headrace_logger()


class _Pod:
    """A step pod the orchestrator created and has not reported yet."""

    __slots__ = ("created", "deleted", "exists", "name", "task")

    def __init__(self, name: str, task: StepTask) -> None:
        self.name = name
        self.task = task
        self.created = time.monotonic()
        self.exists = False  # the API server accepted it
        self.deleted = False  # deleted by stop(): its step ends stopped


class KubernetesOrchestrator(BaseOrchestrator):
    """Runs each step in a pod of a Kubernetes cluster (flavor ``kubernetes``)."""

    runs_in_process = False
    needs_code_archive = True

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, KubernetesOrchestratorConfig):
            config = KubernetesOrchestratorConfig.model_validate(config.model_dump())
        super().__init__(config)
        self.settings: KubernetesOrchestratorConfig = config
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[StepTask] = deque()
        self._pods: dict[str, _Pod] = {}  # pod name -> pod
        self._results: list[StepResult] = []
        self._stopped = False
        self._api: Any = None
        self._store: Store | None = None
        self._stack: StackResponse | None = None
        self._run_id = ""
        self._image = ""
        self._unreachable_since: float | None = None
        # The driver pod this orchestrator runs in (set by the driver entry point): the
        # owner of the step pods, so they go when it goes.
        self.owner: Any = None

    # -- the interface ----------------------------------------------------------------
    def prepare(self, run: RunState, run_in_process: RunInProcess) -> None:
        """Connect to the cluster and check the namespace can be read; pick the image."""
        self._store = run.store
        self._run_id = run.run.id
        self._stack = run.store.get_stack(run.run.stack_id)
        self._image = run_image(run.store, run.run.snapshot_id, self.settings)
        from headrace.execution.orchestrators.kubernetes.api import check_namespace, core_api

        self._api = core_api(self.settings)
        check_namespace(self._api, self.settings.kubernetes_namespace, self._run_id)

    def remote_driver(self, run: RunState) -> RemoteDriver | None:
        """The run's driver pod, unless the settings keep the driver in the launching
        process (``driver_pod: false``) or this process is the driver pod. A run without
        a snapshot (a single step run on its own) is driven here: a driver pod reads
        its spec from the snapshot."""
        if not self.settings.driver_pod or run.run.snapshot_id is None:
            return None
        from headrace.execution.orchestrators.kubernetes.driver_pod import DriverPod

        return DriverPod(self.settings, run)

    def submit(self, task: StepTask) -> None:
        with self._lock:
            if self._stopped:
                self._report(
                    StepResult(task.invocation_id, ExecutionStatus.SKIPPED, recorded=False)
                )
                return
            self._queue.append(task)
        self._start_queued()

    def wait(self, timeout: float | None) -> list[StepResult]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._poll()
            self._start_queued()
            with self._lock:
                if self._results:
                    results, self._results = self._results, []
                    return results
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                pause = self.settings.poll_interval_s
                self._changed.wait(pause if remaining is None else min(pause, remaining))

    def stop(self, graceful: bool) -> None:
        with self._lock:
            self._stopped = True
            while self._queue:
                task = self._queue.popleft()
                self._report(
                    StepResult(task.invocation_id, ExecutionStatus.SKIPPED, recorded=False)
                )
            running = [] if graceful else [p for p in self._pods.values() if not p.deleted]
            for pod in running:
                pod.deleted = True
        for pod in running:
            self._delete(pod.name)

    def close(self) -> None:
        with self._lock:
            leftover = list(self._pods.values())
            self._pods.clear()
        for pod in leftover:  # only after a crash of the driver's scheduler
            self._delete(pod.name)
        api_client = getattr(self._api, "api_client", None)
        if api_client is not None:
            api_client.close()
        self._api = None

    # -- pods -------------------------------------------------------------------------
    def _start_queued(self) -> None:
        limit = self.settings.max_parallelism
        while True:
            with self._lock:
                if self._stopped or not self._queue:
                    return
                if limit is not None and len(self._pods) >= limit:
                    return
                task = self._queue.popleft()
                name = manifests.pod_name(task, self.settings.pod_name_prefix)
                self._pods[name] = _Pod(name, task)  # counted before the API call
            self._create(name, task)

    def _create(self, name: str, task: StepTask) -> None:
        try:
            config = self._step_config(task)
            pod = manifests.build_step_pod(
                task, config, self._image, _resources(task), owner=self.owner
            )
            self._api.create_namespaced_pod(config.kubernetes_namespace, pod)
            with self._lock:
                self._pods[name].exists = True
        except Exception as exc:
            with self._lock:
                self._pods.pop(name, None)
                self._report(
                    StepResult.from_exception(
                        task.invocation_id,
                        ExecutionStatus.FAILED,
                        OrchestratorError(
                            f"Cannot create the pod of step {task.invocation_id!r}: "
                            f"{api_message(exc)}"
                        ),
                        recorded=False,
                    )
                )

    def _poll(self) -> None:
        """Turn the pods that ended (or vanished, or never started) into results."""
        with self._lock:  # only pods that existed before the listing is asked for
            tracked = [pod for pod in self._pods.values() if pod.exists]
        if not tracked:
            return
        try:
            listing = self._api.list_namespaced_pod(
                self.settings.kubernetes_namespace,
                label_selector=manifests.run_selector(self._run_id),
            )
        except Exception as exc:  # a blip of the API server: ask again next time
            now = time.monotonic()
            self._unreachable_since = self._unreachable_since or now
            if now - self._unreachable_since > self.settings.pod_startup_timeout_s:
                raise OrchestratorError(
                    f"The Kubernetes API at {self._host()} has not answered for "
                    f"{now - self._unreachable_since:.0f}s: {api_message(exc)}"
                ) from exc
            logger.warning("Cannot list the run's pods (will retry): %s", api_message(exc))
            return
        self._unreachable_since = None
        seen = {item.metadata.name: item for item in listing.items}
        for pod in tracked:
            result = self._ended(pod, seen.get(pod.name))
            if result is None:
                continue
            with self._lock:
                self._pods.pop(pod.name, None)
                self._report(result)
            if self.settings.delete_finished_pods and pod.name in seen and not pod.deleted:
                self._delete(pod.name)

    def _ended(self, pod: _Pod, item: Any) -> StepResult | None:
        """The step's result if its pod is done, else ``None``."""
        task = pod.task
        phase = None if item is None or item.status is None else item.status.phase
        if phase in (None, "Pending") and item is not None and not pod.deleted:
            reason = waiting_reason(item)
            waited = time.monotonic() - pod.created
            if reason in HOPELESS_WAITING or waited > self.settings.pod_startup_timeout_s:
                pod.deleted = True
                self._delete(pod.name)
                return StepResult.from_exception(
                    task.invocation_id,
                    ExecutionStatus.FAILED,
                    StepExecutionError(
                        f"The pod {pod.name} of step {task.invocation_id!r} did not start "
                        f"within {waited:.0f}s ({reason or 'pending'}); see "
                        f"kubectl describe pod {pod.name} -n {self.settings.kubernetes_namespace}."
                    ),
                    recorded=False,
                )
            return None
        if item is not None and phase not in ("Succeeded", "Failed"):
            return None  # Running (or Unknown: the node may come back)
        assert self._store is not None
        recorded = recorded_result(self._store, self._run_id, task.invocation_id)
        if recorded is not None:
            return recorded
        if pod.deleted:
            return StepResult.from_exception(
                task.invocation_id,
                ExecutionStatus.STOPPED,
                StepInterruptedError(
                    f"Step {task.invocation_id!r} was stopped: its pod {pod.name} was deleted."
                ),
                recorded=False,
            )
        why = "was deleted" if item is None else f"ended {termination(item)}"
        return StepResult.from_exception(
            task.invocation_id,
            ExecutionStatus.FAILED,
            StepExecutionError(
                f"The pod {pod.name} of step {task.invocation_id!r} {why} before the step "
                "recorded its end."
            ),
            recorded=False,
        )

    def _delete(self, name: str) -> None:
        try:
            self._api.delete_namespaced_pod(
                name, self.settings.kubernetes_namespace, grace_period_seconds=0
            )
        except Exception as exc:  # already gone, or the API is away: nothing more to do
            logger.debug("Pod %s not deleted: %s", name, api_message(exc))

    # -- helpers ----------------------------------------------------------------------
    def _report(self, result: StepResult) -> None:
        """Hand a result to ``wait`` (lock held)."""
        self._results.append(result)
        self._changed.notify_all()

    def _step_config(self, task: StepTask) -> KubernetesOrchestratorConfig:
        """The run's configuration with the step's own orchestrator settings applied."""
        step_settings = task.step.config.settings
        if not any(key.startswith("orchestrator") for key in step_settings):
            return self.settings
        from headrace.stacks.settings import orchestrator_configuration

        assert self._stack is not None
        config = orchestrator_configuration(
            self._stack, task.pipeline_config.settings, step_settings
        )
        if not isinstance(config, KubernetesOrchestratorConfig):
            raise OrchestratorError("the stack's orchestrator is not a kubernetes orchestrator")
        return config

    def _host(self) -> str:
        from headrace.execution.orchestrators.kubernetes.api import api_host

        return api_host(self._api)


def run_image(store: Store, snapshot_id: str | None, config: KubernetesOrchestratorConfig) -> str:
    """The image of a run's pods: the one the run's snapshot was built into, else the
    configured ``image``."""
    if snapshot_id is not None:
        image = store.get_snapshot(snapshot_id).extra.get("image")
        if isinstance(image, dict):
            image = image.get("name") or image.get("uri")
        if isinstance(image, str) and image:
            return image
    if config.image:
        return config.image
    raise OrchestratorError(
        "The kubernetes orchestrator needs an image for the step pods: the run's "
        "snapshot records none. Set one with `headrace orchestrator update NAME "
        "--image=registry/project:tag` or settings={'orchestrator.kubernetes': "
        "{'image': ...}}."
    )


def _resources(task: StepTask) -> ResourceSettings | None:
    """The step's ``resources`` settings over its pipeline's."""
    values = {
        **task.pipeline_config.settings.get("resources", {}),
        **task.step.config.settings.get("resources", {}),
    }
    if not values:
        return None
    from headrace.config.resource_settings import ResourceSettings

    return ResourceSettings.model_validate(values)
