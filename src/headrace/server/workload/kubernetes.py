"""The ``kubernetes`` workload manager: one Kubernetes Job per run's runner.

``pip install 'headrace[kubernetes]'``; the official client is imported when the
manager is built. Its settings: :mod:`headrace.server.workload.kubernetes_settings`;
the objects it creates:
:mod:`headrace.server.workload.kubernetes_manifests`.

The handle of a run is its runner Job's name (``headrace-run-<run id>``), in the
configured namespace. Everything the manager knows lives on that Job, so a restarted
server, or another replica, picks up where the first left off:

- ``launch`` picks the image (built, pre-built, or the snapshot's). To build, it
  creates (or reuses) the builder Job of the image and creates the runner Job
  suspended; ``state`` resumes it when the build succeeded, or reports the run failed
  when the build failed (the builder's output is then the run's logs);
- ``state`` maps the Job's conditions: ``Complete`` -> succeeded, ``Failed`` (the
  pod failed, the backoff limit or ``activeDeadlineSeconds`` was reached) -> failed,
  an active pod -> running, else pending;
- ``stop`` deletes the Job and its pods: gracefully (SIGTERM, the pod's grace period;
  the runner ends the run ``stopped``) or at once (grace period 0);
- ``logs`` reads the runner pod's log (while the pod exists: the TTL removes finished
  Jobs, 2 days by default; the ``aws`` manager keeps them in object storage).

Where the runner finds the store: ``RunJob.environment`` becomes the container's
environment (``HEADRACE_STORE_URL`` and, for a server URL, ``HEADRACE_STORE_API_KEY``);
its values are visible to whoever may read Jobs in the namespace.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

from headrace.exceptions import ServerConfigurationError, WorkloadManagerError
from headrace.models import SnapshotResponse
from headrace.server.workload import kubernetes_manifests as manifests
from headrace.server.workload.base import JobState, RunJob, WorkloadManager
from headrace.server.workload.kubernetes_settings import (
    ENV_BUILD_RUNNER_IMAGE,
    ENV_ENABLE_EXTERNAL_LOGS,
    ENV_RUNNER_IMAGE,
    KubernetesWorkloadSettings,
    settings_from_environment,
)
from headrace.server.workload.settings import EnvironmentReader
from headrace.utils.env import ENV_STORE_URL

INSTALL_HINT = "pip install 'headrace[kubernetes]'"

SnapshotReader = Callable[[RunJob], SnapshotResponse]


def read_snapshot_from_job_store(job: RunJob) -> SnapshotResponse:
    """The job's snapshot, read from the store its runner will use."""
    from headrace.store.factory import get_store

    url = job.environment.get(ENV_STORE_URL)
    if not url:
        raise WorkloadManagerError(
            f"Cannot build a runner image for run {job.run_id}: its environment names no "
            f"store ({ENV_STORE_URL}) to read the snapshot's requirements from."
        )
    return get_store(url).get_snapshot(job.snapshot_id)


class KubernetesWorkloadManager(WorkloadManager):
    """Runners as Kubernetes Jobs (runner images built in the cluster on demand)."""

    name: ClassVar[str] = "kubernetes"

    def __init__(
        self,
        settings: KubernetesWorkloadSettings,
        *,
        snapshot_reader: SnapshotReader = read_snapshot_from_job_store,
    ) -> None:
        """Connect to the cluster (in-cluster service account, else the kubeconfig).

        Raises:
            WorkloadManagerError: the client is missing or no configuration works.
        """
        self.settings = settings
        self._read_snapshot = snapshot_reader
        self._client = _import_client()
        self._batch, self._core = self._connect()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        settings, reader = settings_from_environment(environ, cls.name)
        cls.check_settings(settings, reader)
        reader.check()
        return cls(settings)

    @classmethod
    def check_settings(
        cls, settings: KubernetesWorkloadSettings, reader: EnvironmentReader
    ) -> None:
        """Checks of combinations of variables (subclasses add their own)."""
        if settings.enable_external_logs:
            reader.problem(
                f"{ENV_ENABLE_EXTERNAL_LOGS} is only supported by the aws workload manager "
                "(HEADRACE_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE=aws)"
            )

    # -- the interface ----------------------------------------------------------------
    def launch(self, job: RunJob) -> str:
        builder = None
        if self.settings.build_runner_image:
            image, builder = self._ensure_runner_image(job)
        elif self.settings.runner_image:
            image = self.settings.runner_image
        elif job.image:
            image = job.image
        else:
            raise WorkloadManagerError(
                f"Run {job.run_id}: its snapshot has no container image, and the kubernetes "
                f"workload manager has no other: set {ENV_RUNNER_IMAGE} (one pre-built "
                f"image) or {ENV_BUILD_RUNNER_IMAGE}=true (build one per snapshot)."
            )
        body = manifests.runner_job(job, self.settings, image, builder=builder)
        name = manifests.runner_job_name(job.run_id)
        try:
            self._batch.create_namespaced_job(self.settings.namespace, body)
        except Exception as exc:
            raise WorkloadManagerError(
                f"The Kubernetes API refused the runner Job of run {job.run_id} in namespace "
                f"{self.settings.namespace!r}: {_api_message(exc)}"
            ) from exc
        return name

    def state(self, handle: str) -> JobState:
        job = self._read_job(handle)
        if job is None:
            return JobState.UNKNOWN
        if job.spec.suspend:
            return self._advance_build(job)
        state = _job_state(job)
        if state.is_finished:
            self.finished(handle, state)
        return state

    def stop(self, handle: str, *, graceful: bool = True) -> None:
        if self._read_job(handle) is None:
            return
        self.finished(handle, JobState.FAILED)
        self._delete_job(handle, graceful=graceful)

    def logs(self, handle: str) -> str:
        job = self._read_job(handle)
        if job is None:
            return ""
        builder = (job.metadata.annotations or {}).get(manifests.BUILDER_ANNOTATION)
        if job.spec.suspend and builder:
            text = self._pod_logs(builder, manifests.BUILDER_CONTAINER)
            return f"[building the runner image with Job {builder}]\n{text}"
        return self._pod_logs(handle, manifests.RUNNER_CONTAINER)

    def close(self) -> None:
        for api in (self._batch, self._core):
            with contextlib.suppress(Exception):
                api.api_client.close()

    # -- hooks for subclasses ---------------------------------------------------------
    def finished(self, handle: str, state: JobState) -> None:
        """Called when ``state`` finds the runner finished, and before ``stop`` deletes
        it (the ``aws`` manager copies the logs out here)."""

    def runner_image_registry(self) -> str:
        """Where built runner images are pushed (``DOCKER_REGISTRY``)."""
        assert self.settings.docker_registry is not None
        return self.settings.docker_registry

    # -- runner images ------------------------------------------------------------------
    def _ensure_runner_image(self, job: RunJob) -> tuple[str, str]:
        """The runner image of ``job``'s snapshot and the Job that builds it (created
        unless one with that name exists and has not failed)."""
        snapshot = self._read_snapshot(job)
        record = snapshot.extra.get("image") or {}
        requirements = [str(r) for r in record.get("requirements") or []]
        if not requirements:
            from headrace.version import __version__

            requirements = [f"headrace=={__version__}"]
        dockerfile = manifests.runner_dockerfile(requirements, record.get("parent_image"))
        image = manifests.runner_image_tag(self.runner_image_registry(), dockerfile)
        name = manifests.builder_job_name(image)
        existing = self._read_job(name)
        if existing is not None and _job_state(existing) is JobState.FAILED:
            self._delete_job(name, graceful=False)  # a new run tries the build again
            existing = None
        if existing is None:
            self.prepare_registry(image)
            try:
                self._batch.create_namespaced_job(
                    self.settings.namespace, manifests.builder_job(image, dockerfile, self.settings)
                )
            except self._client.client.ApiException as exc:
                if exc.status != 409:  # 409: another server created it meanwhile
                    raise WorkloadManagerError(
                        f"The Kubernetes API refused the builder Job of {image}: "
                        f"{_api_message(exc)}"
                    ) from exc
        return image, name

    def prepare_registry(self, image: str) -> None:
        """Make sure ``image`` can be pushed (the ``aws`` manager creates the ECR
        repository); nothing for a plain registry."""

    def _advance_build(self, job: Any) -> JobState:
        """A suspended runner Job: resume it once its image is built."""
        name = job.metadata.name
        builder = (job.metadata.annotations or {}).get(manifests.BUILDER_ANNOTATION)
        built = self._read_job(builder) if builder else None
        state = JobState.FAILED if built is None else _job_state(built)
        if state is JobState.SUCCEEDED:
            try:
                self._batch.patch_namespaced_job(
                    name, self.settings.namespace, {"spec": {"suspend": False}}
                )
            except Exception as exc:
                raise WorkloadManagerError(
                    f"Cannot resume the runner Job {name}: {_api_message(exc)}"
                ) from exc
            return JobState.PENDING
        if state.is_finished:  # the build failed, or its Job is gone
            self.finished(name, JobState.FAILED)
            return JobState.FAILED
        return JobState.PENDING

    # -- the API ----------------------------------------------------------------------
    def _connect(self) -> tuple[Any, Any]:
        kubernetes = self._client
        settings = self.settings
        try:
            if settings.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                kubernetes.config.load_incluster_config()
                api_client = kubernetes.client.ApiClient()
            else:
                api_client = kubernetes.config.new_client_from_config(
                    config_file=settings.kubeconfig, context=settings.context
                )
        except (kubernetes.config.ConfigException, OSError, TypeError) as exc:
            raise ServerConfigurationError(
                "The kubernetes workload manager cannot configure its Kubernetes client "
                f"(kubeconfig {settings.kubeconfig or '$KUBECONFIG or ~/.kube/config'}, "
                f"context {settings.context or 'current'}): {exc}. In a cluster it uses "
                "the pod's service account; elsewhere set "
                "HEADRACE_KUBERNETES_WORKLOAD_MANAGER_KUBECONFIG."
            ) from exc
        return kubernetes.client.BatchV1Api(api_client), kubernetes.client.CoreV1Api(api_client)

    def _read_job(self, name: str) -> Any:
        try:
            return self._batch.read_namespaced_job(name, self.settings.namespace)
        except self._client.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise WorkloadManagerError(f"Cannot read Job {name}: {_api_message(exc)}") from exc
        except Exception as exc:
            raise WorkloadManagerError(
                f"Cannot reach the Kubernetes API about Job {name}: {_api_message(exc)}"
            ) from exc

    def _delete_job(self, name: str, *, graceful: bool) -> None:
        try:
            self._batch.delete_namespaced_job(
                name,
                self.settings.namespace,
                propagation_policy="Background",  # its pods go too
                grace_period_seconds=None if graceful else 0,
            )
        except self._client.client.ApiException as exc:
            if exc.status != 404:
                raise WorkloadManagerError(
                    f"Cannot delete Job {name}: {_api_message(exc)}"
                ) from exc

    def _pod_logs(self, job_name: str, container: str) -> str:
        namespace = self.settings.namespace
        try:
            pods = self._core.list_namespaced_pod(
                namespace, label_selector=f"job-name={job_name}"
            ).items
            if not pods:
                return ""
            latest = max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""))
            return str(
                self._core.read_namespaced_pod_log(
                    latest.metadata.name, namespace, container=container
                )
            )
        except self._client.client.ApiException as exc:
            if exc.status in (400, 404):  # the container has not started, or is gone
                return ""
            raise WorkloadManagerError(
                f"Cannot read the logs of Job {job_name}: {_api_message(exc)}"
            ) from exc


def _job_state(job: Any) -> JobState:
    status = job.status
    for condition in (status.conditions or ()) if status else ():
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return JobState.SUCCEEDED
        if condition.type == "Failed":
            return JobState.FAILED
    if status is not None and (status.active or 0) > 0:
        return JobState.RUNNING if (status.ready or 0) > 0 else JobState.PENDING
    return JobState.PENDING


def _import_client() -> Any:
    try:
        import kubernetes
    except ImportError as exc:
        raise WorkloadManagerError(
            f"The kubernetes workload manager needs the kubernetes client: {INSTALL_HINT}."
        ) from exc
    return kubernetes


def _api_message(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status is not None:
        body = getattr(exc, "body", None) or getattr(exc, "reason", "")
        return f"API answered {status}: {str(body)[:500]}"
    return f"{type(exc).__name__}: {exc}"
