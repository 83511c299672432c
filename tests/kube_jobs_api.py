"""The fake Kubernetes API server of ``kube_api_server`` with Jobs (tests only).

Adds to the pod API and kubelet stand-in what the kubernetes workload manager calls:
``batch/v1`` Jobs (create, read, patch ``spec.suspend``, delete with their pods) and pod
logs. A Job controller makes the pods: a Job that is not suspended gets a pod from its
template (labels ``job-name`` and ``batch.kubernetes.io/job-name``, as Kubernetes sets
them), and a new one after each failed pod until ``backoffLimit``; its status carries
``active``/``ready``/``succeeded``/``failed`` and the ``Complete`` / ``Failed``
conditions, and ``activeDeadlineSeconds`` ends it (reason ``DeadlineExceeded``). The
controller works when a Job is read, listed or patched (no background loop).

Every Job is validated, strictly, against the oldest and newest shipped Kubernetes
schema before it is accepted, and its pods again as pods.

Not runnable here: container images. Pods run their command as local processes (see
``kube_api_server``), except images listed in ``simulated_images``, whose pods print a
line and exit with the given code, standing in for tools that need a container runtime
(kaniko's executor builds and pushes images; nothing here can).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from kube_api_server import FakeKubernetes, _handler, _now, _Pod, _status, validate_manifest

_JOB = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$")
_LOG = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$")


class _Job:
    def __init__(self, manifest: dict[str, Any]) -> None:
        self.manifest = manifest
        self.pods: list[str] = []
        self.started: float | None = None
        self.deadline_exceeded = False

    @property
    def suspended(self) -> bool:
        return bool(self.manifest["spec"].get("suspend"))


class FakeKubernetesJobs(FakeKubernetes):
    """The fake API server with a Job controller; ``simulated_images`` maps an image to
    the exit code of its pods."""

    def __init__(self, root: Path, namespaces: tuple[str, ...] = ("default",)) -> None:
        super().__init__(root, namespaces)
        self.server.RequestHandlerClass = _jobs_handler(self)
        self.jobs: dict[tuple[str, str], _Job] = {}
        self.created_jobs: list[dict[str, Any]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.job_deletions: list[tuple[str, dict[str, Any]]] = []
        self.simulated_images: dict[str, int] = {}

    # -- jobs -------------------------------------------------------------------------
    def create_job(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        import kubernetes_validate

        if namespace not in self.namespaces:
            return 404, _status(404, f'namespaces "{namespace}" not found', "NotFound")
        try:
            validate_manifest(body)
        except kubernetes_validate.ValidationError as exc:
            return 422, _status(422, f"Job is invalid: {exc.message}", "Invalid")
        name = body["metadata"]["name"]
        with self.lock:
            if (namespace, name) in self.jobs:
                return 409, _status(409, f'jobs.batch "{name}" already exists', "AlreadyExists")
            manifest = copy.deepcopy(body)
            manifest["metadata"].update(
                namespace=namespace,
                uid=f"job-uid-{len(self.created_jobs)}",
                creationTimestamp=_now(),
            )
            job = _Job(manifest)
            self.jobs[(namespace, name)] = job
            self.created_jobs.append(manifest)
        self._control(namespace, job)
        return 201, self._job_json(namespace, job)

    def read_job(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            job = self.jobs.get((namespace, name))
        if job is None:
            return 404, _status(404, f'jobs.batch "{name}" not found', "NotFound")
        self._control(namespace, job)
        return 200, self._job_json(namespace, job)

    def patch_job(
        self, namespace: str, name: str, patch: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            job = self.jobs.get((namespace, name))
        if job is None:
            return 404, _status(404, f'jobs.batch "{name}" not found', "NotFound")
        self.patches.append((name, patch))
        job.manifest["spec"].update(patch.get("spec", {}))
        self._control(namespace, job)
        return 200, self._job_json(namespace, job)

    def delete_job(
        self, namespace: str, name: str, options: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            job = self.jobs.pop((namespace, name), None)
        if job is None:
            return 404, _status(404, f'jobs.batch "{name}" not found', "NotFound")
        self.job_deletions.append((name, options))
        if options.get("propagationPolicy") in ("Background", "Foreground"):
            for pod in job.pods:
                self.delete(namespace, pod)
        return 200, self._job_json(namespace, job)

    def pod_log(self, namespace: str, name: str) -> tuple[int, str]:
        with self.lock:
            pod = self.pods.get((namespace, name))
        if pod is None:
            return 404, json.dumps(_status(404, f'pods "{name}" not found', "NotFound"))
        if pod.process is None:
            message = f'container in pod "{name}" is waiting to start'
            return 400, json.dumps(_status(400, message, "BadRequest"))
        path = pod.workdir / "log"
        return 200, path.read_text(errors="replace") if path.exists() else ""

    # -- the Job controller -----------------------------------------------------------
    def _phases(self, namespace: str, job: _Job) -> list[str]:
        phases = []
        for name in job.pods:
            code, pod = self.read(namespace, name)
            phases.append(pod["status"]["phase"] if code == 200 else "Failed")
        return phases

    def _control(self, namespace: str, job: _Job) -> None:
        if job.suspended:
            return
        job.started = job.started or time.monotonic()
        spec = job.manifest["spec"]
        phases = self._phases(namespace, job)
        if "Succeeded" in phases:
            return
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and time.monotonic() - job.started > deadline:
            if not job.deadline_exceeded:
                job.deadline_exceeded = True
                for name in job.pods:
                    self.delete(namespace, name)
            return
        running = [p for p in phases if p in ("Pending", "Running")]
        failed = phases.count("Failed")
        if not running and failed <= spec.get("backoffLimit", 6) and (failed or not phases):
            self._start_pod(namespace, job)

    def _start_pod(self, namespace: str, job: _Job) -> None:
        name = job.manifest["metadata"]["name"]
        template = copy.deepcopy(job.manifest["spec"]["template"])
        metadata = template.setdefault("metadata", {})
        metadata["name"] = f"{name}-{len(job.pods)}"
        metadata["labels"] = {
            **metadata.get("labels", {}),
            "job-name": name,
            "batch.kubernetes.io/job-name": name,
        }
        pod = {"apiVersion": "v1", "kind": "Pod", **template}
        code, answer = self.create(namespace, pod)
        if code != 201:
            raise AssertionError(f"the Job's pod was refused: {answer}")
        job.pods.append(metadata["name"])

    def _run(self, pod: _Pod) -> None:
        container = pod.manifest["spec"]["containers"][0]
        exit_code = self.simulated_images.get(container["image"])
        if exit_code is None:
            super()._run(pod)
            return
        line = f"simulated {container['image']}: {' '.join(container.get('args', []))}"
        log = (pod.workdir / "log").open("wb")
        pod.process = subprocess.Popen(
            [sys.executable, "-c", f"import sys; print({line!r}); sys.exit({exit_code})"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        pod.started_at = _now()

    def _job_json(self, namespace: str, job: _Job) -> dict[str, Any]:
        phases = self._phases(namespace, job)
        status: dict[str, Any] = {}
        if job.started is not None:
            status["startTime"] = _now()
        active = sum(p in ("Pending", "Running") for p in phases)
        status.update(
            active=active,
            ready=phases.count("Running"),
            succeeded=phases.count("Succeeded"),
            failed=phases.count("Failed"),
        )
        spec = job.manifest["spec"]
        condition = None
        if job.deadline_exceeded:
            condition = ("Failed", "DeadlineExceeded")
        elif "Succeeded" in phases:
            condition = ("Complete", None)
        elif not active and status["failed"] > spec.get("backoffLimit", 6):
            condition = ("Failed", "BackoffLimitExceeded")
        if condition is not None:
            status["conditions"] = [
                {
                    "type": condition[0],
                    "status": "True",
                    **({"reason": condition[1]} if condition[1] else {}),
                    "lastTransitionTime": _now(),
                }
            ]
        return {**job.manifest, "status": status}


def _jobs_handler(fake: FakeKubernetesJobs) -> type:
    base: Any = _handler(fake)

    class Handler(base):  # type: ignore[misc, valid-type]
        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != "Bearer test-token":
                self._answer(401, _status(401, "Unauthorized", "Unauthorized"))
                return False
            return True

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length)) if length else {}

        def _jobs(self) -> tuple[str, str | None] | None:
            match = _JOB.match(urlparse(self.path).path)
            return None if match is None else (match.group(1), match.group(2))

        def do_POST(self) -> None:
            route = self._jobs()
            if route is None:
                super().do_POST()
            elif self._authorized():
                fake.requests.append(("POST", urlparse(self.path).path))
                self._answer(*fake.create_job(route[0], self._body()))

        def do_GET(self) -> None:
            url = urlparse(self.path)
            route, log = self._jobs(), _LOG.match(url.path)
            if route is None and log is None:
                super().do_GET()
                return
            if not self._authorized():
                return
            fake.requests.append(("GET", url.path))
            if log is not None:
                code, text = fake.pod_log(log.group(1), log.group(2))
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif route is not None and route[1] is not None:
                self._answer(*fake.read_job(route[0], route[1]))
            else:
                self._answer(404, _status(404, "listing Jobs is not simulated", "NotFound"))

        def do_PATCH(self) -> None:
            route = self._jobs()
            if route is None or route[1] is None or not self._authorized():
                if route is None or route[1] is None:
                    self._answer(405, _status(405, "not simulated", "MethodNotAllowed"))
                return
            fake.requests.append(("PATCH", urlparse(self.path).path))
            self._answer(*fake.patch_job(route[0], route[1], self._body()))

        def do_DELETE(self) -> None:
            route = self._jobs()
            if route is None:
                super().do_DELETE()
            elif route[1] is not None and self._authorized():
                url = urlparse(self.path)
                fake.requests.append(("DELETE", url.path))
                # the client sends the options as query parameters (or in a body)
                options: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
                options.update(self._body())
                if "gracePeriodSeconds" in options:
                    options["gracePeriodSeconds"] = int(options["gracePeriodSeconds"])
                self._answer(*fake.delete_job(route[0], route[1], options))

    return Handler


@contextlib.contextmanager
def fake_kubernetes_jobs(root: Path, namespaces: tuple[str, ...]) -> Iterator[FakeKubernetesJobs]:
    """A running fake API server with Jobs; its pods' processes end with it."""
    fake = FakeKubernetesJobs(root, namespaces)
    fake.start()
    try:
        yield fake
    finally:
        fake.close()
