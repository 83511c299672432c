"""A stand-in for a Kubernetes API server and its kubelet, on 127.0.0.1 (tests only).

No cluster runs on these machines, so the tests give the official ``kubernetes`` client
a real HTTP server that answers the pod calls the orchestrator makes (create, list by
label selector, read, delete; v1 only) the way the API server does, and runs every
created pod like a kubelet would: its container's command, with its environment, as a
local process (``python`` is this interpreter; the node's environment is this
process's, with ``PYTHONPATH`` set to this ``sys.path``, like an image that has the
project installed). Pod phases and container states come from the process: ``Pending``
until it starts, ``Running``, then ``Succeeded`` (exit 0) or ``Failed``. Deleting a pod
kills its process group and removes the pod, as the API server does once the kubelet
confirms.

Every created pod is first validated, strictly, against the oldest and the newest
Kubernetes schema ``kubernetes-validate`` ships (offline), and refused with 422 if it
does not conform, so a manifest the real API server would reject fails the test.
Deleting a pod also deletes the pods whose ``ownerReferences`` name it, as the
garbage collector does (immediately here, in the background on a cluster).
Images named ``missing/...`` never pull (``ErrImagePull``, pod stays ``Pending``).

Not simulated: scheduling, resource accounting, volumes, secrets (``valueFrom``,
``envFrom`` are refused: the tests do not use them), watch streams.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

_POD = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")


def schema_versions() -> list[str]:
    """The oldest and the newest Kubernetes version whose schema is shipped."""
    from kubernetes_validate.utils import all_versions

    versions = all_versions()
    return [versions[0], versions[-1]]


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise ``kubernetes_validate.ValidationError`` unless ``manifest`` conforms, strictly,
    to every checked Kubernetes version."""
    import kubernetes_validate

    for version in schema_versions():
        kubernetes_validate.validate(manifest, version, strict=True)


class _Pod:
    def __init__(self, manifest: dict[str, Any], workdir: Path) -> None:
        self.manifest = manifest
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.waiting_reason: str | None = None
        self.started_at: str | None = None

    def status(self) -> dict[str, Any]:
        container = self.manifest["spec"]["containers"][0]
        state: dict[str, Any]
        if self.process is None:
            phase = "Pending"
            state = {"waiting": {"reason": self.waiting_reason or "ContainerCreating"}}
        elif self.process.poll() is None:
            phase = "Running"
            state = {"running": {"startedAt": self.started_at}}
        else:
            code = self.process.returncode
            phase = "Succeeded" if code == 0 else "Failed"
            state = {
                "terminated": {
                    "exitCode": code if code >= 0 else 128 - code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": self.started_at,
                }
            }
        return {
            "phase": phase,
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "state": state,
                }
            ],
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.manifest, "status": self.status()}


class FakeKubernetes:
    """The API server + kubelet stand-in; ``kubeconfig`` points the client at it."""

    def __init__(self, root: Path, namespaces: tuple[str, ...] = ("default",)) -> None:
        self.root = root
        self.namespaces = set(namespaces)
        self.pods: dict[tuple[str, str], _Pod] = {}
        self.created: list[dict[str, Any]] = []  # every accepted manifest, in order
        self.deleted: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.kubeconfig = root / "kubeconfig"
        host = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": host}}],
                    "users": [{"name": "tester", "user": {"token": "test-token"}}],
                    "contexts": [
                        {"name": "fake", "context": {"cluster": "fake", "user": "tester"}}
                    ],
                    "current-context": "fake",
                }
            )
        )

    def start(self) -> FakeKubernetes:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            pods = list(self.pods.values())
        for pod in pods:
            _kill(pod)

    # -- the API ------------------------------------------------------------------------
    def create(self, namespace: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        import kubernetes_validate

        if namespace not in self.namespaces:
            return 404, _status(404, f'namespaces "{namespace}" not found', "NotFound")
        try:
            validate_manifest(body)
        except kubernetes_validate.ValidationError as exc:
            return 422, _status(422, f"Pod is invalid: {exc.message}", "Invalid")
        metadata = body["metadata"]
        if metadata.get("namespace", namespace) != namespace:
            return 400, _status(400, "the namespace of the object does not match", "BadRequest")
        container = body["spec"]["containers"][0]
        unsupported = [e["name"] for e in container.get("env", []) if "value" not in e]
        if unsupported or container.get("envFrom"):
            return 422, _status(422, "the fake kubelet only supports env values", "Invalid")
        key = (namespace, metadata["name"])
        manifest = {
            **body,
            "metadata": {
                **metadata,
                "namespace": namespace,
                "uid": f"uid-{len(self.created)}",
                "creationTimestamp": _now(),
            },
        }
        with self.lock:
            if key in self.pods:
                return 409, _status(409, f'pods "{key[1]}" already exists', "AlreadyExists")
            pod = _Pod(manifest, Path(tempfile.mkdtemp(prefix="pod-", dir=self.root)))
            self.pods[key] = pod
            self.created.append(manifest)
        self._run(pod)
        return 201, pod.as_json()

    def list(self, namespace: str, selector: str | None) -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in selector.split(",")) if selector else {}
        with self.lock:
            pods = [p for (ns, _), p in self.pods.items() if ns == namespace]
        items = [
            p.as_json()
            for p in pods
            if all(p.manifest["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def read(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            pod = self.pods.get((namespace, name))
        if pod is None:
            return 404, _status(404, f'pods "{name}" not found', "NotFound")
        return 200, pod.as_json()

    def delete(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            pod = self.pods.pop((namespace, name), None)
        if pod is None:
            return 404, _status(404, f'pods "{name}" not found', "NotFound")
        _kill(pod)
        self.deleted.append(name)
        self._collect_garbage(namespace, pod.manifest["metadata"]["uid"])
        return 200, pod.as_json()

    def _collect_garbage(self, namespace: str, owner_uid: str) -> None:
        """Delete the pods owned by a deleted pod, as the garbage collector does."""
        with self.lock:
            owned = [
                key[1]
                for key, pod in self.pods.items()
                if key[0] == namespace
                and any(
                    ref.get("uid") == owner_uid
                    for ref in pod.manifest["metadata"].get("ownerReferences", [])
                )
            ]
        for name in owned:
            self.delete(namespace, name)

    # -- the kubelet --------------------------------------------------------------------
    def _run(self, pod: _Pod) -> None:
        container = pod.manifest["spec"]["containers"][0]
        if container["image"].startswith("missing/"):
            pod.waiting_reason = "ErrImagePull"
            return
        command = [*container.get("command", []), *container.get("args", [])]
        if command and command[0] == "python":
            command[0] = sys.executable
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        environment.update({e["name"]: e["value"] for e in container.get("env", [])})
        log = (pod.workdir / "log").open("wb")
        pod.process = subprocess.Popen(
            command,
            cwd=pod.workdir,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        pod.started_at = _now()


def _kill(pod: _Pod) -> None:
    process = pod.process
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _handler(fake: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``fake.requests`` instead."""

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> tuple[str, str | None, dict[str, list[str]]] | None:
            url = urlparse(self.path)
            fake.requests.append((self.command, url.path))
            if self.headers.get("Authorization") != "Bearer test-token":
                self._answer(401, _status(401, "Unauthorized", "Unauthorized"))
                return None
            match = _POD.match(url.path)
            if match is None:
                self._answer(404, _status(404, "the server could not find it", "NotFound"))
                return None
            return match.group(1), match.group(2), parse_qs(url.query)

        def do_POST(self) -> None:
            route = self._route()
            if route is None:
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            self._answer(*fake.create(route[0], body))

        def do_GET(self) -> None:
            route = self._route()
            if route is None:
                return
            namespace, name, query = route
            if name is None:
                self._answer(200, fake.list(namespace, query.get("labelSelector", [None])[0]))
            else:
                self._answer(*fake.read(namespace, name))

        def do_DELETE(self) -> None:
            route = self._route()
            if route is None or route[1] is None:
                return
            length = int(self.headers.get("Content-Length", "0"))
            if length:
                self.rfile.read(length)
            self._answer(*fake.delete(route[0], route[1]))

    return Handler


@contextlib.contextmanager
def fake_kubernetes(root: Path) -> Iterator[FakeKubernetes]:
    """A running fake API server; its pods' processes end with it."""
    fake = FakeKubernetes(root).start()
    try:
        yield fake
    finally:
        fake.close()
