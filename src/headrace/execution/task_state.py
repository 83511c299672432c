"""The run state a step task runs with in a process that is not the run's driver.

Built from the task and the store alone: the run record, a spec holding only the
task's step (with the pipeline configuration it inherits), the artifact store, and the
model version the driver resolved. Nothing of the driver's memory is here: the
``on_init`` hook's ``pipeline_state`` is ``None`` and every source is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from headrace.execution.logs import capture_installed
from headrace.execution.record_flusher import shared_flusher
from headrace.execution.run_state import RunState
from headrace.execution.secrets import environment_applied, pipeline_secret_values
from headrace.utils.env import ENV_SOURCE_ROOT

if TYPE_CHECKING:
    from headrace.artifact_stores.base import ArtifactStore
    from headrace.execution.step_runner import StepRunner
    from headrace.execution.step_task import CodeLocation, StepTask


@contextmanager
def state_for_task(task: StepTask) -> Iterator[tuple[RunState, StepRunner]]:
    """A run state and step runner for ``task``; on exit, pending records are written
    and the environment is restored."""
    from headrace.artifact_stores.components import artifact_store_from_configuration
    from headrace.config.spec import PipelineSpec
    from headrace.execution.step_runner import StepRunner
    from headrace.store.factory import get_store

    store = get_store(task.store_url)
    # Built as the driver built it: a remote store's endpoint, options and credentials
    # (from its secret in the store) come with it, not from this process's environment.
    artifact_store = artifact_store_from_configuration(
        task.artifact_store["flavor"], task.artifact_store["configuration"], store, task.stack_id
    )
    if task.code is not None:
        use_code(task.code, artifact_store)
    run = store.get_run(task.run_id)
    spec = PipelineSpec(
        name=task.pipeline_name,
        source="",  # the pipeline function itself runs only in the driver
        code_hash="",
        config=task.pipeline_config,
        steps={task.invocation_id: task.step},
    )
    state = RunState(store=store, run=run, spec=spec, objects={}, artifact_store=artifact_store)
    if task.model_version_id is not None:
        version = store.get_model_version(task.model_version_id)
        state.model_version = version
        if task.step.config.model is not None:
            state.model_versions[task.step.config.model.model_dump_json()] = version
    config = task.pipeline_config
    environment = dict(config.environment)
    environment.update(
        pipeline_secret_values(store, config.secrets, f"Pipeline {task.pipeline_name!r}")
    )
    restore = environment_applied(environment)
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
            store.flush()
        finally:
            restore()


def use_code(code: CodeLocation, artifact_store: ArtifactStore) -> Path:
    """Unpack a code archive (once per digest on this machine, verified against its
    digest) and import from it."""
    from headrace.snapshots.code_cache import default_code_cache, extract_code

    directory = extract_code(
        {"digest": code.digest, "uri": code.uri}, artifact_store, default_code_cache(artifact_store)
    )
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    os.environ[ENV_SOURCE_ROOT] = str(directory)
    return directory
