"""The Ray orchestrator: every step runs as a Ray task on a Ray cluster.

Install with ``pip install 'headrace[ray]'``; Ray is imported only when a run starts.

**What runs where.** The driver (the process that called the pipeline, or ran a
snapshot) only schedules: the one scheduler submits a step task as soon as the step's
inputs are ready, and this orchestrator hands it to Ray as a task that calls
``run_step_task`` on a worker, as ``python -m headrace.execution.step_entrypoint`` does
anywhere else. The step writes its own step-run records to the store and its artifacts
to the artifact store, so every node must reach both (a PostgreSQL store or a server, an
artifact store on shared storage or object storage; a SQLite file and a local directory
only work when the whole cluster is one machine or shares the filesystem). The task
returns the step's result (status and output artifact versions) as JSON, a few hundred
bytes; no artifact passes through Ray's object store.

**How the code gets there.** Every task carries the run's code archive
(``needs_code_archive``): the content-addressed archive of the project's source that a
snapshot keeps in the artifact store. The worker unpacks it once per node and digest and
imports steps from it by source. That serves both ways runs start: a pipeline defined
in a ``__main__`` script (sources name the script by its path under the source root, so
``python run.py`` on the driver becomes module ``run`` on the worker; as with any
process-based runner, the script must call the pipeline under
``if __name__ == "__main__":``) and a snapshot run, which runs the code pinned in the
snapshot, not whatever the worker's working directory holds. Ray's own code shipping
(``runtime_env={"working_dir": ...}``) would upload the directory for every driver and
know nothing of snapshots, so it is not used for the project's code; ``runtime_env``
in the orchestrator configuration is still applied to every step task, for what Ray
does well there: pip packages, environment variables, container images.

**Resources.** ``ResourceSettings`` of a step (over its pipeline's) become the Ray
task's options: ``cpu_count`` -> ``num_cpus``, ``gpu_count`` -> ``num_gpus``, ``memory``
("4GB", "512MiB", ...) -> ``memory`` in bytes. A step without settings asks for Ray's
default of one CPU. A request no node can satisfy waits, as Ray does (Ray logs a
warning on the driver), since an autoscaling cluster may add a node for it.

**Behaviour.** Retries are the step runner's (``StepRetryConfig``), never Ray's: Ray
tasks run with ``max_retries=0``. Caching, hooks, the step's environment and secrets
happen inside the step's process, as with every orchestrator. The pipeline's
``on_init`` hook runs in the driver, and the object it returns
(``get_step_context().pipeline_state``) stays there: steps on Ray see ``None``.
``stop(graceful=True)`` hands nothing more to Ray (steps queued here behind
``max_parallelism`` end skipped) and lets tasks already handed to Ray finish;
``stop(graceful=False)`` also cancels those tasks (``ray.cancel(force=True)`` ends the
worker process), and they end ``stopped``.

**Logs.** Each step's output is captured into its log in the artifact store by the step
runner (``headrace logs``), and the driver connects with ``log_to_driver``, so what
steps print also appears on the driver's terminal, prefixed with the step's name.

**Connecting.** ``address`` is ``host:port`` (the head node's GCS port, 6379 unless
changed), ``ray://host:port`` (Ray client) or ``auto`` (``RAY_ADDRESS``, else the cluster
``ray start --head`` last started on this machine). Before anything runs, the address is
checked with a plain TCP connect that gives up after a few seconds, so a wrong or dead
address fails the run at once, naming the address and how to start a cluster. The
connection (``ray.init``) is kept for later runs of the process to the same cluster.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections import deque
from functools import partial
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from headrace.enums import ExecutionStatus
from headrace.exceptions import OrchestratorError, StepExecutionError, StepInterruptedError
from headrace.execution.orchestrators.base import BaseOrchestrator, RunInProcess
from headrace.execution.step_task import (
    StepResult,
    StepTask,
    TaskSplitter,
    run_step_task,
    task_from_parts,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from headrace.execution.run_state import RunState

CONNECT_TIMEOUT_S = 5.0  # the TCP check before ray.init: a dead address fails this fast
START_HINT = (
    "Start a cluster with `ray start --head` (it prints the address to use), or set the "
    "orchestrator's address to a running cluster's head node (host:port, ray://host:port)."
)
_MEMORY_UNITS = {
    "": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


_worker_capture: list[Any] = []  # the capture this Ray worker keeps installed


def execute_step_task(run_document: str, task_document: str) -> str:
    """What a Ray task runs: one step task in this worker process, its result as JSON.

    The task comes in two JSON documents (``TaskSplitter``): its run's, the same string
    for every task of the run and read once per worker, and its own. A Ray worker runs
    step after step, so it also installs headrace's output capture once and keeps it
    (each step then only adds itself to it), instead of installing and removing it,
    with the logging levels it touches, around every step; and what the steps of a run
    share (run record, artifact store, secrets, code) is gathered by its first step
    (``headrace.execution.task_state``).
    """
    if not _worker_capture:
        from headrace.execution.logs import capture_installed

        installed = capture_installed()
        installed.__enter__()
        _worker_capture.append(installed)
    return run_step_task(task_from_parts(run_document, task_document)).to_json()


def memory_bytes(text: str) -> int:
    """``"4GB"`` -> 4_000_000_000, ``"512MiB"`` -> 536_870_912 (no unit: bytes).

    Raises:
        ValueError: not a size of the form ResourceSettings accepts.
    """
    match = _MEMORY.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _MEMORY_UNITS:
        raise ValueError(
            f"memory {text!r} is not a size like '512MB', '4GB' or '2GiB' "
            f"(units: {', '.join(u for u in _MEMORY_UNITS if u)})"
        )
    return int(float(match.group(1)) * _MEMORY_UNITS[unit])


def step_resources(task: StepTask) -> dict[str, Any]:
    """Ray task options for a step's ``resources`` settings (the step's over its pipeline's)."""
    settings: dict[str, Any] = {}
    for owner in (task.pipeline_config.settings, task.step.config.settings):
        resources = owner.get("resources") or {}
        if isinstance(resources, BaseModel):
            resources = resources.model_dump(exclude_none=True)
        settings.update({k: v for k, v in resources.items() if v is not None})
    options: dict[str, Any] = {}
    if "cpu_count" in settings:
        options["num_cpus"] = float(settings["cpu_count"])
    if "gpu_count" in settings:
        options["num_gpus"] = float(settings["gpu_count"])
    if "memory" in settings:
        try:
            options["memory"] = memory_bytes(str(settings["memory"]))
        except ValueError as exc:
            raise OrchestratorError(f"Step {task.invocation_id!r}: {exc}.") from None
    return options


class RayOrchestrator(BaseOrchestrator):
    """Runs each step task as a Ray task on the cluster at ``config.address``.

    ``config`` is the ``ray`` flavor's configuration
    (``headrace.stacks.configs.RayOrchestratorConfig``).
    """

    runs_in_process = False
    needs_code_archive = True

    def __init__(self, config: BaseModel) -> None:
        super().__init__(config)
        self.address: str = str(getattr(config, "address", "auto"))
        self.max_parallelism: int | None = getattr(config, "max_parallelism", None)
        self.namespace: str | None = getattr(config, "namespace", None)
        self.runtime_env: dict[str, Any] = dict(getattr(config, "runtime_env", None) or {})
        self.init_timeout_s = float(getattr(config, "init_timeout_s", 30.0))
        self._lock = threading.Lock()
        self._queue: deque[StepTask] = deque()  # behind max_parallelism
        self._in_flight: dict[str, Any] = {}  # invocation id -> its Ray object ref
        # What ``wait`` reports: results of tasks that never reached Ray, and tasks whose
        # Ray task ended (with its future). Ray's callbacks only put here, taking no lock.
        self._events: SimpleQueue[StepResult | tuple[StepTask, Future[Any]]] = SimpleQueue()
        self._stopped = False
        self._cancelled = False
        self._remote: Any = None
        self._splitter = TaskSplitter()

    # -- the orchestrator interface -------------------------------------------------------
    def prepare(self, run: RunState, run_in_process: RunInProcess) -> None:
        """Connect to the cluster (checking the address first) and register the task."""
        connect(self.address, self.namespace, self.init_timeout_s)
        self._remote = _remote_function()

    def submit(self, task: StepTask) -> None:
        with self._lock:
            if self._stopped:
                self._events.put(_never_started(task))
                return
            self._queue.append(task)
            self._dispatch()

    def wait(self, timeout: float | None) -> list[StepResult]:
        try:
            events = [self._events.get(timeout=timeout)]
        except Empty:
            return []
        while True:  # and whatever else has ended meanwhile
            try:
                events.append(self._events.get_nowait())
            except Empty:
                break
        results: list[StepResult] = []
        for event in events:
            if isinstance(event, StepResult):
                results.append(event)
                continue
            task, future = event
            with self._lock:
                self._in_flight.pop(task.invocation_id, None)
            results.append(self._result_of(task, future))
        with self._lock:
            if not self._stopped:
                self._dispatch()  # slots freed under max_parallelism
        return results

    def stop(self, graceful: bool) -> None:
        with self._lock:
            self._stopped = True
            while self._queue:
                self._events.put(_never_started(self._queue.popleft()))
            if not graceful:
                self._cancelled = True
            refs = [] if graceful else list(self._in_flight.values())
        if refs:
            import ray

            for ref in refs:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Nothing to release: the connection is kept for the process's next run."""
        with self._lock:
            self._queue.clear()
            self._in_flight.clear()

    # -- internals ------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Hand queued tasks to Ray while under ``max_parallelism`` (lock held)."""
        while self._queue and (
            self.max_parallelism is None or len(self._in_flight) < self.max_parallelism
        ):
            task = self._queue.popleft()
            try:
                options = step_resources(task)
            except OrchestratorError as exc:
                self._events.put(
                    StepResult.from_exception(
                        task.invocation_id, ExecutionStatus.FAILED, exc, recorded=False
                    )
                )
                continue
            if self.runtime_env:
                options["runtime_env"] = self.runtime_env
            name = f"{task.pipeline_name}.{task.invocation_id}"
            ref = self._remote.options(name=name, **options).remote(*self._splitter.split(task))
            self._in_flight[task.invocation_id] = ref
            # Ray calls back once the task's result is in (no polling of every task in
            # flight); ``wait`` reads the result.
            ref.future().add_done_callback(partial(self._on_end, task))

    def _on_end(self, task: StepTask, future: Future[Any]) -> None:
        self._events.put((task, future))

    def _result_of(self, task: StepTask, future: Future[Any]) -> StepResult:
        from ray import exceptions as ray_errors

        name = task.invocation_id
        try:
            return StepResult.from_json(future.result())
        except (ray_errors.TaskCancelledError, ray_errors.WorkerCrashedError) as exc:
            if self._cancelled:
                stopped = StepInterruptedError(
                    f"Step {name!r} was stopped: its Ray task was cancelled."
                )
                return StepResult.from_exception(
                    name, ExecutionStatus.STOPPED, stopped, recorded=False
                )
            return _failed(name, f"its Ray worker ended unexpectedly ({_first_line(exc)})")
        except ray_errors.RuntimeEnvSetupError as exc:
            return _failed(name, f"Ray could not set up its runtime_env: {_first_line(exc)}")
        except ray_errors.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            return _failed(name, f"its Ray task raised {type(cause).__name__}: {cause}")
        except ray_errors.RayError as exc:
            return _failed(name, f"Ray could not run it: {_first_line(exc)}")


def _failed(invocation_id: str, why: str) -> StepResult:
    error = StepExecutionError(f"Step {invocation_id!r} did not run to the end: {why}")
    return StepResult.from_exception(invocation_id, ExecutionStatus.FAILED, error, recorded=False)


def _never_started(task: StepTask) -> StepResult:
    return StepResult(task.invocation_id, ExecutionStatus.SKIPPED, recorded=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_remote_functions: list[Any] = []


def _remote_function() -> Any:
    """``execute_step_task`` as a Ray remote function, made once per process: Ray
    exports a function to the cluster the first time it is called there (and again
    after connecting to another cluster), not once per run."""
    with _connection_lock:
        if not _remote_functions:
            import ray

            _remote_functions.append(
                ray.remote(max_retries=0, retry_exceptions=False)(execute_step_task)
            )
        return _remote_functions[0]


# -- connecting ---------------------------------------------------------------------------
_connection_lock = threading.Lock()
_connected: tuple[str, str | None] | None = None  # (address asked for, namespace) of ours


def connect(address: str, namespace: str | None, timeout_s: float) -> None:
    """Connect this process to the cluster at ``address`` (once; reused by later runs).

    A connection this process made itself (``ray.init`` by the user) is used as it is.

    Raises:
        OrchestratorError: the address is not reachable or the cluster did not answer.
    """
    global _connected
    with _connection_lock:
        import ray

        if ray.is_initialized() and _connected in (None, (address, namespace)):
            return
        target = resolve_address(address)
        check_reachable(address, target, min(timeout_s, CONNECT_TIMEOUT_S))
        if ray.is_initialized():  # ours, to another cluster or namespace
            ray.shutdown()
            _connected = None
        _init(address if target.startswith("ray://") else target, namespace, timeout_s)
        _connected = (address, namespace)


class _NotMainThread(logging.Filter):
    """Hides Ray's warning that it set no SIGTERM handler: ``ray.init`` runs in a helper
    thread on purpose, and the driver's signals stay headrace's (runs end ``stopped``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


def _init(address: str, namespace: str | None, timeout_s: float) -> None:
    """``ray.init`` in a helper thread, given up after ``timeout_s`` (Ray itself retries
    an address that accepts connections but does not answer for minutes)."""
    import ray

    failure: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(
                address=address,
                namespace=namespace,
                log_to_driver=True,
                logging_level=logging.WARNING,
            )
        except BaseException as exc:  # reported by the caller
            failure.append(exc)

    ray_logger = logging.getLogger("ray._private.worker")
    quiet = _NotMainThread()
    ray_logger.addFilter(quiet)
    try:
        thread = threading.Thread(target=init, name="headrace-ray-init", daemon=True)
        thread.start()
        thread.join(timeout_s)
    finally:
        ray_logger.removeFilter(quiet)
    if thread.is_alive():
        raise OrchestratorError(
            f"The Ray cluster at {address} accepted a connection but did not answer "
            f"ray.init within {timeout_s:g} s (init_timeout_s). Is it a Ray head node's "
            f"GCS port? {START_HINT}"
        )
    if failure:
        raise OrchestratorError(
            f"Could not connect to the Ray cluster at {address}: {_first_line(failure[0])}. "
            f"{START_HINT}"
        ) from failure[0]


def resolve_address(address: str) -> str:
    """``auto`` -> the cluster's ``host:port``; other addresses as given.

    Raises:
        OrchestratorError: ``auto`` and no cluster is known on this machine.
    """
    if address != "auto":
        return address
    from_environment = os.environ.get("RAY_ADDRESS")
    if from_environment:
        return from_environment
    from ray._private import services

    try:
        found = services.canonicalize_bootstrap_address("auto")
    except Exception:  # Ray found no running cluster
        found = None
    if not found:
        raise OrchestratorError(
            "No Ray cluster found for address 'auto': RAY_ADDRESS is not set and no "
            f"`ray start --head` is running on this machine. {START_HINT}"
        )
    return str(found)


def check_reachable(address: str, target: str, timeout_s: float) -> None:
    """A TCP connect to the cluster's port, so a dead address fails before ``ray.init``.

    Raises:
        OrchestratorError: not of the form host:port, or nothing answers there.
    """
    host_port = target.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise OrchestratorError(
            f"Ray address {address!r} is not of the form host:port, ray://host:port or "
            f"'auto'. {START_HINT}"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return
    except OSError as exc:
        shown = address if address == target else f"{address!r} ({target})"
        raise OrchestratorError(
            f"No Ray cluster answers at {shown}: {exc.strerror or exc} (no step was run). "
            f"{START_HINT}"
        ) from None
