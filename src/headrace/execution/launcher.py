"""The one way a run starts: compiled spec -> stored snapshot -> run -> orchestrator -> steps."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headrace.artifacts.loading import artifact_store_of
from headrace.config.spec import PipelineSpec
from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.exceptions import (
    ConfigurationError,
    EntityExistsError,
    EntityNotFoundError,
    RunFailedError,
    SecretError,
    StoreError,
)
from headrace.execution.hooks import run_hook
from headrace.execution.logs import capture_installed
from headrace.execution.orchestrators.base import ExecutionPlan
from headrace.execution.orchestrators.local import LocalOrchestrator
from headrace.execution.progress import announce_background_run, open_progress
from headrace.execution.run_names import default_run_name, format_run_name
from headrace.execution.run_state import RunState
from headrace.execution.step_runner import StepRunner, environment_applied
from headrace.models import (
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    SnapshotRequest,
)
from headrace.models.step_run import HookError
from headrace.stacks.settings import orchestrator_configuration
from headrace.store.base import Store
from headrace.store.factory import get_store
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from pydantic import BaseModel

    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
    from headrace.dsl.compiler import CompiledPipeline
    from headrace.dsl.pipeline import Pipeline
    from headrace.dsl.step import BaseStep

logger = headrace_logger()

DEFAULT_EXECUTION_MODE = ExecutionMode.CONTINUE_ON_FAILURE


def _now() -> datetime:
    return datetime.now(UTC)


def run_pipeline(pipeline: Pipeline[Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Compile and run a pipeline call; returns the run (raises if it failed)."""
    from headrace.dsl.compiler import compile_pipeline

    compiled = compile_pipeline(pipeline, args, kwargs)
    return launch(get_store(), compiled)


def stored_pipeline(name: str) -> Any:
    """The stored pipeline ``name`` in the store runs go to (``Pipeline.model``)."""
    return get_store().get_pipeline(name)


def run_single_step(step: BaseStep[Any, Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Run one step as an unlisted one-step pipeline; returns its output value(s)."""
    from headrace.config.pipeline_configurations import PipelineConfiguration
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
    from headrace.dsl.compiler import GraphBuilder, build_step_spec, building

    builder = GraphBuilder(step.name)
    with building(builder):
        step(*args, **kwargs)
    (invocation,) = builder.invocations.values()
    spec = PipelineSpec(
        name=step.name,
        source=step.source,
        code_hash=step.code_hash,
        config=PipelineConfiguration.empty(),
        steps={invocation.id: build_step_spec(builder, invocation, None)},
    )
    from headrace.dsl.compiler import CompiledPipeline

    compiled = CompiledPipeline(spec, builder.objects, PipelineRunConfiguration.empty())
    run = launch(get_store(), compiled, unlisted=True)
    outputs = run.steps[invocation.id].outputs
    values = [outputs[name].load() for name in spec.steps[invocation.id].outputs]
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def launch(
    store: Store,
    compiled: CompiledPipeline,
    *,
    unlisted: bool = False,
    snapshot_id: str | None = None,
    triggered_by_step_run_id: str | None = None,
) -> PipelineRunResponse:
    """Record a run of a compiled pipeline and execute it (or start it in the background)."""
    spec = compiled.spec
    run_config = compiled.run_config
    if run_config.schedule is not None:
        raise ConfigurationError(
            f"Pipeline {spec.name!r} was given a schedule, but this version of headrace has "
            "no scheduler to run it, so nothing was started. Run the pipeline directly, or "
            "trigger a snapshot of it from your own scheduler (cron: `headrace pipeline "
            "snapshot run NAME`)."
        )
    stack = store.get_active_stack()
    # Checked before anything is recorded: a bad orchestrator setting starts nothing.
    orchestrator_config = orchestrator_configuration(stack, spec.config.settings)
    pipeline_id = None
    if not unlisted:
        pipeline_id = store.get_or_create_pipeline(spec.name, spec.docstring).id
        if snapshot_id is None:
            snapshot_id = store.ensure_snapshot(
                SnapshotRequest(
                    id=str(uuid.uuid4()),
                    pipeline_id=pipeline_id,
                    stack_id=stack.id,
                    spec=spec,
                    spec_hash=spec.content_hash(),
                )
            )
    run = create_run_record(
        store,
        spec,
        run_config,
        pipeline_id,
        snapshot_id,
        stack.id,
        unlisted,
        triggered_by_step_run_id,
    )
    state = RunState(
        store=store,
        run=run,
        spec=spec,
        objects=dict(compiled.objects),
        artifact_store=artifact_store_of(store, stack.id),
        unlisted=unlisted,
    )
    if not is_synchronous(run_config, orchestrator_config):
        announce_background_run(run, spec.name, stack.name)
        thread = threading.Thread(
            target=_execute_quietly, args=(state,), name=f"headrace-run-{run.name}", daemon=False
        )
        thread.start()
        return run
    return execute(state)


def is_synchronous(run_config: PipelineRunConfiguration, orchestrator_config: BaseModel) -> bool:
    """Whether the caller waits for the run: the run configuration's ``synchronous``, else
    ``synchronous`` in the orchestrator's configuration (the stack component's, with the
    pipeline's ``orchestrator*`` settings applied); runs are synchronous by default.
    """
    if run_config.synchronous is not None:
        return run_config.synchronous
    value = getattr(orchestrator_config, "synchronous", None)
    return True if value is None else bool(value)


def create_run_record(
    store: Store,
    spec: PipelineSpec,
    run_config: PipelineRunConfiguration,
    pipeline_id: str | None,
    snapshot_id: str | None,
    stack_id: str,
    unlisted: bool,
    triggered_by: str | None,
) -> PipelineRunResponse:
    substitutions = {**spec.config.substitutions, **run_config.substitutions}
    explicit = run_config.run_name is not None
    template = run_config.run_name or default_run_name(spec.name)
    for attempt in range(5):
        name = format_run_name(template, substitutions, unique_suffix=attempt > 0 and not explicit)
        try:
            return store.create_run(
                PipelineRunRequest(
                    id=str(uuid.uuid4()),
                    name=name,
                    pipeline_id=pipeline_id,
                    snapshot_id=snapshot_id,
                    stack_id=stack_id,
                    status=ExecutionStatus.INITIALIZING,
                    config=run_config.set_fields_json(),
                    parameters=spec.parameters,
                    tags=list(spec.config.tags),
                    triggered_by_step_run_id=triggered_by,
                    unlisted=unlisted,
                )
            )
        except EntityExistsError:
            if explicit:
                raise
    raise EntityExistsError(f"Could not find a free run name for pipeline {spec.name!r}.")


def plan_of(spec: PipelineSpec) -> ExecutionPlan:
    """The orchestrator's view of a spec."""
    return ExecutionPlan(
        order=list(spec.steps), upstream={n: list(s.upstream) for n, s in spec.steps.items()}
    )


def _execute_quietly(state: RunState) -> None:
    try:
        execute(state, report=False)
    except RunFailedError:
        pass  # recorded in the store; the caller reads it from there
    except Exception:
        logger.exception("Background run %s crashed", state.run.name)


def execute(state: RunState, *, report: bool = True) -> PipelineRunResponse:
    """Run every step of ``state``'s run and record the outcome; raise if it failed.

    With ``report``, the run's progress is shown on the terminal (execution/progress.py).
    """
    progress = open_progress() if report else None
    if progress is None:
        return _execute(state)
    state.progress = progress
    try:
        progress.run_started(state.run, state.spec, state.store.get_stack(state.run.stack_id).name)
        run = _execute(state)
    except RunFailedError as error:
        run = getattr(error, "run", None) or state.store.get_run(state.run.id)
        progress.run_finished(run)
        raise
    except BaseException:
        progress.close()
        raise
    progress.run_finished(run)
    return run


def _execute(state: RunState) -> PipelineRunResponse:
    store, spec = state.store, state.spec
    try:
        resolve_run_models(state)
        environment = {**spec.config.environment, **secret_environment(store, spec)}
    except (SecretError, StoreError) as exc:
        run = store.update_run(
            state.run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.FAILED, end_time=_now(), status_reason=str(exc)
            ),
        )
        raise RunFailedError(run.name, [], str(exc)) from exc
    restore_environment = environment_applied(environment)
    init_error: BaseException | None = None
    try:
        store.update_run(
            state.run.id, PipelineRunUpdate(status=ExecutionStatus.RUNNING, start_time=_now())
        )
        with capture_installed():
            init_error = _run_init_hook(state)
            statuses = _run_steps(state, init_error)
    finally:
        try:
            if spec.config.cleanup_hook_source:
                owner = f"pipeline {spec.name!r}"
                run_hook(state, spec.config.cleanup_hook_source, "on_cleanup", owner)
        finally:
            restore_environment()
    failure = init_error or state.pipeline_error
    final = _final_status(statuses, failure)
    run = store.update_run(
        state.run.id,
        PipelineRunUpdate(
            status=final,
            end_time=_now(),
            outputs=_run_outputs(state),
            status_reason=_failure_reason(init_error, state.pipeline_error),
            hook_errors=_pipeline_hook_errors(state) or None,
        ),
    )
    if final is not ExecutionStatus.COMPLETED:
        _raise_failure(state, run, failure)
    return run


def resolve_run_models(state: RunState) -> None:
    """Find or create the versions of the run's models once, before any step runs, and
    link the run to them; a stage no version is in fails the run before it starts.

    Runs without a model pay one attribute check per step here and nothing later.
    """
    spec = state.spec
    if spec.config.model is not None:
        version = state.resolve_model(spec.config.model, run_model=True)
        state.model_version = version
        state.run = state.run.model_copy(update={"model_version_id": version.id})
    for step in spec.steps.values():
        if step.config.model is not None:
            state.resolve_model(step.config.model)


def _run_steps(state: RunState, init_error: BaseException | None) -> dict[str, ExecutionStatus]:
    runner = StepRunner(state)
    if init_error is not None:
        for name in state.spec.steps:
            runner.mark(name, ExecutionStatus.SKIPPED, "not started: the on_init hook failed")
        runner.flush()
        return dict(state.statuses)
    config = orchestrator_configuration(
        state.store.get_stack(state.run.stack_id), state.spec.config.settings
    )
    max_parallelism = getattr(config, "max_parallelism", None)
    parallel = None
    if getattr(config, "processes", False):
        from functools import partial

        from headrace.execution.subprocess_steps import run_in_subprocess

        parallel = partial(run_in_subprocess, runner)
    flusher = _Flusher(runner)
    mode = state.spec.config.execution_mode or DEFAULT_EXECUTION_MODE
    try:
        if state.spec.config.dynamic:
            from headrace.execution.dynamic import run_dynamic

            statuses, state.pipeline_error = run_dynamic(state, runner, mode, max_parallelism)
            _record_dynamic_graph(state)
            return statuses
        orchestrator = LocalOrchestrator(max_parallelism, parallel)
        return orchestrator.run(
            plan_of(state.spec),
            runner.run,
            runner.mark,
            mode,
        )
    finally:
        flusher.stop()
        runner.flush()


class _Flusher:
    """Writes a step's deferred "running" record once the step has run for a while, so
    long steps show as running while short ones cost no extra transaction."""

    INTERVAL_S = 0.05

    def __init__(self, runner: StepRunner) -> None:
        self._runner = runner
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headrace-flusher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self.INTERVAL_S):
            try:
                self._runner.flush(older_than=self.INTERVAL_S)
            except Exception:  # the next completion writes them instead
                logger.debug("Deferred step records not written yet", exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def secret_environment(store: Store, spec: PipelineSpec) -> dict[str, str]:
    """Environment variables from the pipeline's secrets: each key, upper-cased.

    Raises:
        SecretError: a secret the pipeline names does not exist (nothing has run yet).
    """
    for step in spec.steps.values():  # step secrets must exist too, before anything runs
        for name in step.config.secrets:
            try:
                store.get_secret(name)  # existence only: decrypted when the step runs
            except EntityNotFoundError as exc:
                raise SecretError(
                    f"Step {step.invocation_id!r} needs secret {name!r}, which does not "
                    f"exist; create it with `headrace secret create {name} --KEY=VALUE`."
                ) from exc
    environment: dict[str, str] = {}
    for name in spec.config.secrets:
        environment.update(secret_values(store, name, f"Pipeline {spec.name!r}"))
    return environment


def secret_values(store: Store, name: str, owner: str) -> dict[str, str]:
    """A secret's values as environment variables (keys upper-cased)."""
    try:
        secret = store.get_secret(name, with_values=True)
    except EntityNotFoundError as exc:
        raise SecretError(
            f"{owner} needs secret {name!r}, which does not exist; create it with "
            f"`headrace secret create {name} --KEY=VALUE`."
        ) from exc
    return {key.upper(): value for key, value in secret.secret_values.items()}


def _pipeline_hook_errors(state: RunState) -> list[HookError]:
    return [
        HookError(hook=kind, source=source, type=type(error).__name__, message=str(error))
        for owner, kind, source, error in state.hook_errors
        if owner.startswith("pipeline ")
    ]


def _record_dynamic_graph(state: RunState) -> None:
    """Store the graph a dynamic run actually ran as the run's (unnamed) snapshot.

    A run of a named snapshot keeps its link to that snapshot; the step runs and their
    input links still show what ran.
    """
    run = state.run
    if run.snapshot_id is not None and state.store.get_snapshot(run.snapshot_id).name:
        return
    if run.pipeline_id is None:
        return
    snapshot_id = state.store.ensure_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            pipeline_id=run.pipeline_id,
            stack_id=run.stack_id,
            spec=state.spec,
            spec_hash=state.spec.content_hash(),
        )
    )
    state.store.update_run(run.id, PipelineRunUpdate(snapshot_id=snapshot_id))


def _failure_reason(
    init_error: BaseException | None, pipeline_error: BaseException | None
) -> str | None:
    if init_error is not None:
        return f"on_init hook failed: {init_error}"
    if pipeline_error is not None:
        return f"the pipeline function raised {type(pipeline_error).__name__}: {pipeline_error}"
    return None


def _run_init_hook(state: RunState) -> BaseException | None:
    source = state.spec.config.init_hook_source
    if not source:
        return None
    value, error = run_hook(
        state,
        source,
        "on_init",
        f"pipeline {state.spec.name!r}",
        kwargs=state.spec.config.init_hook_kwargs,
    )
    state.pipeline_state = value
    return error


def _final_status(
    statuses: dict[str, ExecutionStatus], init_error: BaseException | None
) -> ExecutionStatus:
    values = set(statuses.values())
    if init_error is not None or ExecutionStatus.FAILED in values:
        return ExecutionStatus.FAILED
    if ExecutionStatus.STOPPED in values:
        return ExecutionStatus.STOPPED
    return ExecutionStatus.COMPLETED


def _run_outputs(state: RunState) -> dict[str, str]:
    outputs = {}
    for name, ref in state.spec.outputs.items():
        record = state.outputs.get((ref.step, ref.output))
        if record is not None:
            outputs[name] = record.artifact_version_id
    return outputs


def _raise_failure(
    state: RunState, run: PipelineRunResponse, init_error: BaseException | None
) -> None:
    failed = [n for n, s in state.statuses.items() if s is ExecutionStatus.FAILED]
    cause = init_error or next((state.errors[n] for n in failed if n in state.errors), None)
    detail = ""
    if cause is not None:
        detail = f"First error: {type(cause).__name__}: {cause}"
    error = RunFailedError(run.name, failed, detail)
    error.run = run  # type: ignore[attr-defined]
    raise error from cause
