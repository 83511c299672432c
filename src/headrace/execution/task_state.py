"""The run state a step task runs with in a process that is not the run's driver.

Built from the task and the store alone: the run record, a spec holding only the
task's step (with the pipeline configuration it inherits), the artifact store, and the
model version the driver resolved. Nothing of the driver's memory is here: the
``on_init`` hook's ``pipeline_state`` is ``None`` and every source is imported. What
all the steps of a run share (run record, artifact store, secrets, code, imported
sources) is gathered once per run and process, for processes that run many steps.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.execution.logs import capture_installed
from headrace.execution.record_flusher import shared_flusher
from headrace.execution.run_state import RunState
from headrace.execution.secrets import environment_applied, pipeline_secret_values
from headrace.utils.env import ENV_SOURCE_ROOT

if TYPE_CHECKING:
    from headrace.artifact_stores.base import ArtifactStore
    from headrace.execution.step_runner import StepRunner
    from headrace.execution.step_task import CodeLocation, StepTask
    from headrace.models import ModelVersionResponse
    from headrace.store.base import Store


class _RunResources:
    """What every task of one run needs in this process, gathered by its first task.

    A process that runs many steps of a run (a Ray worker, a process-mode worker) would
    otherwise read the run record, build the artifact store, read the pipeline's
    secrets, check its code archive and import step sources once per step. The run
    record is the run as it was when this process first ran one of its steps (what
    ``get_step_context().pipeline_run`` promises: the run as recorded when it started);
    secrets are read once per run, as the driver reads the pipeline's own.
    """

    __slots__ = (
        "artifact_store",
        "code_directory",
        "environment",
        "model_versions",
        "objects",
        "run",
        "spec",
        "store",
    )

    def __init__(self, task: StepTask, store: Store) -> None:
        from headrace.artifact_stores.components import artifact_store_from_configuration
        from headrace.config.spec import PipelineSpec

        self.store = store
        # Built as the driver built it: a remote store's endpoint, options and credentials
        # (from its secret in the store) come with it, not from this process's environment.
        self.artifact_store = artifact_store_from_configuration(
            task.artifact_store["flavor"],
            task.artifact_store["configuration"],
            store,
            task.stack_id,
        )
        self.code_directory = (
            None if task.code is None else use_code(task.code, self.artifact_store)
        )
        self.run = store.get_run(task.run_id)
        config = task.pipeline_config
        environment = dict(config.environment)
        environment.update(
            pipeline_secret_values(store, config.secrets, f"Pipeline {task.pipeline_name!r}")
        )
        self.environment = environment
        # Each task's spec is this one with the task's step (the pipeline function
        # itself runs only in the driver).
        self.spec = PipelineSpec(name=task.pipeline_name, source="", code_hash="", config=config)
        self.objects: dict[str, Any] = {}  # sources imported by the run's steps
        # The model versions the driver resolved for the run, read once each (the driver
        # too keeps one object per version for the whole run).
        self.model_versions: dict[str, ModelVersionResponse] = {}

    def model_version(self, version_id: str) -> ModelVersionResponse:
        """The model version ``version_id``, read from the store once per run."""
        found = self.model_versions.get(version_id)
        if found is None:
            found = self.store.get_model_version(version_id)
            self.model_versions[version_id] = found
        return found


_RESOURCES: OrderedDict[tuple[Any, ...], _RunResources] = OrderedDict()
_RESOURCES_MAX = 8  # runs whose resources a process keeps (a worker serves many runs)
_RESOURCES_LOCK = threading.Lock()


def run_resources(task: StepTask) -> _RunResources:
    """The resources of ``task``'s run in this process (gathered by its first task)."""
    from headrace.store.factory import get_store

    store = get_store(task.store_url)
    key = (
        task.run_id,
        task.store_url,
        task.stack_id,
        json.dumps(task.artifact_store, sort_keys=True),
        None if task.code is None else (task.code.digest, task.code.uri),
    )
    with _RESOURCES_LOCK:
        found = _RESOURCES.get(key)
        if found is not None and found.store is store:  # not a store opened again since
            _RESOURCES.move_to_end(key)
            return found
    made = _RunResources(task, store)  # outside the lock: it reads the store
    with _RESOURCES_LOCK:
        _RESOURCES[key] = made
        _RESOURCES.move_to_end(key)
        while len(_RESOURCES) > _RESOURCES_MAX:
            _RESOURCES.popitem(last=False)
    return made


@contextmanager
def state_for_task(task: StepTask) -> Iterator[tuple[RunState, StepRunner]]:
    """A run state and step runner for ``task``; on exit, pending records are written
    and the environment is restored."""
    from headrace.execution.step_runner import StepRunner

    resources = run_resources(task)
    if resources.code_directory is not None:
        _import_from(resources.code_directory)  # another run's code may have come since
    spec = resources.spec.model_copy(update={"steps": {task.invocation_id: task.step}})
    state = RunState(
        store=resources.store,
        run=resources.run,
        spec=spec,
        objects=resources.objects,
        artifact_store=resources.artifact_store,
    )
    if task.model_version_id is not None:
        version = resources.model_version(task.model_version_id)
        state.model_version = version
        if task.step.config.model is not None:
            state.model_versions[task.step.config.model.model_dump_json()] = version
    restore = environment_applied(resources.environment)
    runner = StepRunner(state)
    # The "running" record waits for the step's completion (one transaction, not two),
    # unless the step runs long enough for the flusher to write it. A step whose process
    # dies before either is recorded by the driver (``ResultRecorder.record_unfinished``).
    flusher = shared_flusher()
    flusher.watch(runner)
    try:
        with capture_installed():
            yield state, runner
    finally:
        try:
            flusher.forget(runner)
            runner.flush()
            # The driver reads this step's records once the task returns: a store that
            # queues writes (a remote one) sends them first.
            resources.store.flush()
        finally:
            restore()


def use_code(code: CodeLocation, artifact_store: ArtifactStore) -> Path:
    """Unpack a code archive (once per digest on this machine, verified against its
    digest) and import from it."""
    from headrace.snapshots.code_cache import default_code_cache, extract_code

    directory = extract_code(
        {"digest": code.digest, "uri": code.uri}, artifact_store, default_code_cache(artifact_store)
    )
    _import_from(directory)
    return directory


def _import_from(directory: Path) -> None:
    """Steps import from ``directory`` (an unpacked code archive), their source root."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    os.environ[ENV_SOURCE_ROOT] = str(directory)
