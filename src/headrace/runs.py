"""The run entry points: what calling a pipeline or a step does, and how a stored
artifact or log is read back from a response model.

They sit above the dsl, the models and execution, so none of those imports upward: the
dsl and the models call them by name through ``headrace.utils.entry_points``, and
importing this module (``import headrace`` does) provides them. Everything heavy is
imported inside the functions, so this module costs nothing at ``import headrace``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headrace.utils import entry_points

if TYPE_CHECKING:
    from headrace.dsl.pipeline import Pipeline
    from headrace.dsl.step import BaseStep
    from headrace.models import ArtifactVersionResponse, PipelineRunResponse
    from headrace.models.schedule import ScheduleResponse
    from headrace.store.base import Store


def run_pipeline(
    pipeline: Pipeline[Any], args: Sequence[Any], kwargs: dict[str, Any]
) -> PipelineRunResponse | ScheduleResponse:
    """Compile and run a pipeline call; returns the run (raises if it failed).

    With a schedule (``with_options(schedule=...)``), nothing runs now: a snapshot and a
    schedule of it are stored on the server, and the schedule is returned.
    """
    from headrace.dsl.compiler import compile_pipeline
    from headrace.execution.launcher import launch
    from headrace.store.factory import get_store

    if pipeline.run_configuration.schedule is not None:
        from headrace.execution.schedules import refuse_without_scheduler, schedule_pipeline

        store = get_store()
        refuse_without_scheduler(store, pipeline.name)  # before compiling anything
        return schedule_pipeline(store, compile_pipeline(pipeline, args, kwargs))
    compiled = compile_pipeline(pipeline, args, kwargs)
    return launch(get_store(), compiled)


def run_single_step(step: BaseStep[Any, Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Run one step as an unlisted one-step pipeline; returns its output value(s)."""
    from headrace.dsl.compiler import compile_single_step
    from headrace.execution.launcher import launch
    from headrace.store.factory import get_store

    compiled = compile_single_step(step, args, kwargs)
    run = launch(get_store(), compiled, unlisted=True)
    ((invocation_id, spec),) = compiled.spec.steps.items()
    outputs = run.steps[invocation_id].outputs
    values = [outputs[name].load() for name in spec.outputs]
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def stored_pipeline(name: str) -> Any:
    """The stored pipeline ``name`` in the store runs go to (``Pipeline.model``)."""
    from headrace.store.factory import get_store

    return get_store().get_pipeline(name)


def create_snapshot(
    pipeline: Pipeline[Any],
    name: str,
    description: str | None,
    replace: bool,
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> Any:
    """Compile a pipeline call and store it as a named snapshot."""
    from headrace.dsl.compiler import compile_pipeline
    from headrace.snapshots.create import create_snapshot as store_snapshot

    compiled = compile_pipeline(pipeline, args, kwargs)
    return store_snapshot(None, compiled, name, description=description, replace=replace)


def deploy_pipeline(pipeline: Pipeline[Any], name: str, options: dict[str, Any]) -> Any:
    """Snapshot a pipeline and serve it as deployment ``name``."""
    from headrace.deployments.manage import deploy_pipeline as deploy

    return deploy(pipeline, name, **options)


def load_artifact_version(version: ArtifactVersionResponse, store: Store) -> Any:
    """Read a stored artifact version back into a value."""
    from headrace.artifacts.loading import load_artifact_version as load

    return load(version, store)


def read_text(uri: str, store: Store | None = None) -> str:
    """Read a text file (a step's log) from its artifact store (found in ``store`` for a
    remote URL, so its endpoint and credentials apply)."""
    from headrace.artifacts.loading import read_text as read

    return read(uri, store)


entry_points.provide(entry_points.RUN_PIPELINE, run_pipeline)
entry_points.provide(entry_points.RUN_SINGLE_STEP, run_single_step)
entry_points.provide(entry_points.CREATE_SNAPSHOT, create_snapshot)
entry_points.provide(entry_points.DEPLOY_PIPELINE, deploy_pipeline)
entry_points.provide(entry_points.STORED_PIPELINE, stored_pipeline)
entry_points.provide(entry_points.LOAD_ARTIFACT_VERSION, load_artifact_version)
entry_points.provide(entry_points.READ_TEXT, read_text)
