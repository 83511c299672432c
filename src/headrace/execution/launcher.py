"""The one way a run starts: compiled spec -> stored snapshot -> run -> orchestrator -> steps."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headrace.artifacts.loading import artifact_store_of
from headrace.config.spec import PipelineSpec
from headrace.enums import ExecutionStatus
from headrace.exceptions import (
    ConfigurationError,
    EntityExistsError,
    OrchestratorError,
    RunFailedError,
    ScheduleError,
    SecretError,
    StoreError,
)
from headrace.execution.heartbeat import driver_identity
from headrace.execution.hooks import run_hook
from headrace.execution.lifecycle import RunLifecycle
from headrace.execution.logs import capture_installed
from headrace.execution.orchestrators.base import BaseOrchestrator
from headrace.execution.orchestrators.registry import build_orchestrator
from headrace.execution.progress import announce_background_run, open_progress
from headrace.execution.resume import reusing
from headrace.execution.run_names import default_run_name, format_run_name
from headrace.execution.run_state import RunState
from headrace.execution.run_steps import mark_step, run_steps
from headrace.execution.secrets import environment_applied, secret_environment
from headrace.execution.step_runner import StepRunner
from headrace.models import (
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    SnapshotRequest,
)
from headrace.models.step_run import HookError
from headrace.store.base import Store
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from pydantic import BaseModel

    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
    from headrace.dsl.compiler import CompiledPipeline

logger = headrace_logger()


def _now() -> datetime:
    return datetime.now(UTC)


def launch(
    store: Store,
    compiled: CompiledPipeline,
    *,
    unlisted: bool = False,
    snapshot_id: str | None = None,
    triggered_by_step_run_id: str | None = None,
    orchestrator: BaseOrchestrator | None = None,
) -> PipelineRunResponse:
    """Record a run of a compiled pipeline and execute it (or start it in the background).

    ``orchestrator`` defaults to the one the active stack and the pipeline's settings
    choose (``orchestrators.registry``).
    """
    spec = compiled.spec
    run_config = compiled.run_config
    if run_config.schedule is not None:
        # Calling a scheduled pipeline stores a schedule instead (headrace.runs); a run
        # started here never carries one.
        raise ScheduleError(
            f"Pipeline {spec.name!r} was given a schedule, which a single run cannot take; "
            "call the pipeline itself (my_pipeline.with_options(schedule=...)()) to store "
            "the schedule on a headrace server."
        )
    stack = store.get_active_stack()
    if orchestrator is None:  # bad settings are refused before a run is recorded
        orchestrator = build_orchestrator(stack, spec.config.settings)
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
    driver = orchestrator.remote_driver(state)
    if driver is not None:  # e.g. a Kubernetes driver pod: this process only follows
        from headrace.execution.remote_runs import run_remotely

        return run_remotely(
            state,
            orchestrator,
            driver,
            synchronous=is_synchronous(run_config, orchestrator.config),
            timeout=getattr(orchestrator.config, "timeout", None),
        )
    if not is_synchronous(run_config, orchestrator.config):
        announce_background_run(run, spec.name, stack.name)
        thread = threading.Thread(
            target=_execute_quietly,
            args=(state, orchestrator),
            name=f"headrace-run-{run.name}",
            daemon=False,
        )
        thread.start()
        return run
    return execute(state, orchestrator)


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
    resumed_from: str | None = None,
    *,
    create: Callable[[PipelineRunRequest], PipelineRunResponse] | None = None,
) -> PipelineRunResponse:
    """Record a new run under a free name (``create`` records it: default
    ``store.create_run``; a server's queue passes its own, which records it ``queued``
    without a driver: none runs it yet)."""
    substitutions = {**spec.config.substitutions, **run_config.substitutions}
    explicit = run_config.run_name is not None
    template = run_config.run_name or default_run_name(spec.name)
    for attempt in range(5):
        name = format_run_name(template, substitutions, unique_suffix=attempt > 0 and not explicit)
        try:
            identity = {} if create is not None else driver_identity()
            return (create or store.create_run)(
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
                    resumed_from_run_id=resumed_from,
                    **identity,
                )
            )
        except EntityExistsError:
            if explicit:
                raise
    raise EntityExistsError(f"Could not find a free run name for pipeline {spec.name!r}.")


def _execute_quietly(state: RunState, orchestrator: BaseOrchestrator) -> None:
    try:
        execute(state, orchestrator, report=False)
    except RunFailedError:
        pass  # recorded in the store; the caller reads it from there
    except Exception:
        logger.exception("Background run %s crashed", state.run.name)


def execute(
    state: RunState, orchestrator: BaseOrchestrator | None = None, *, report: bool = True
) -> PipelineRunResponse:
    """Run every step of ``state``'s run and record the outcome; raise if it failed.

    ``orchestrator`` defaults to the one the run's stack and the pipeline's settings
    choose. With ``report``, the run's progress is shown on the terminal
    (execution/progress.py).
    """
    progress = open_progress() if report else None
    if progress is None:
        return _execute(state, orchestrator)
    state.progress = progress
    try:
        progress.run_started(state.run, state.spec, state.store.get_stack(state.run.stack_id).name)
        run = _execute(state, orchestrator)
    except RunFailedError as error:
        run = getattr(error, "run", None) or state.store.get_run(state.run.id)
        progress.run_finished(run)
        raise
    except BaseException:
        progress.close()
        raise
    progress.run_finished(run)
    return run


def _execute(state: RunState, orchestrator: BaseOrchestrator | None) -> PipelineRunResponse:
    with RunLifecycle(state) as lifecycle:
        return _execute_run(state, orchestrator, lifecycle)


def _execute_run(
    state: RunState, orchestrator: BaseOrchestrator | None, lifecycle: RunLifecycle
) -> PipelineRunResponse:
    store, spec = state.store, state.spec
    try:
        if orchestrator is None:
            orchestrator = build_orchestrator(
                store.get_stack(state.run.stack_id), spec.config.settings
            )
        resolve_run_models(state)
        environment = {**spec.config.environment, **secret_environment(store, spec)}
    except (SecretError, StoreError, ConfigurationError) as exc:
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
            state.run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.RUNNING,
                start_time=_now(),
                **lifecycle.claim(),
            ),
        )
        with capture_installed():
            init_error = _run_init_hook(state)
            statuses = _run_steps(state, init_error, orchestrator)
    except OrchestratorError as exc:  # steps cannot run at all (cluster unreachable, ...)
        failed = store.update_run(
            state.run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.FAILED, end_time=_now(), status_reason=str(exc)
            ),
        )
        error = RunFailedError(failed.name, [], str(exc))
        error.run = failed  # type: ignore[attr-defined]
        raise error from exc
    finally:
        try:
            if spec.config.cleanup_hook_source:
                owner = f"pipeline {spec.name!r}"
                run_hook(state, spec.config.cleanup_hook_source, "on_cleanup", owner)
        finally:
            restore_environment()
    failure = init_error or state.pipeline_error
    final = lifecycle.final_status(_final_status(statuses, failure), statuses)
    reason = _failure_reason(init_error, state.pipeline_error)
    if final is ExecutionStatus.STOPPED and lifecycle.stop_reason is not None:
        reason = reason or lifecycle.stop_reason
    run = store.update_run(
        state.run.id,
        PipelineRunUpdate(
            status=final,
            end_time=_now(),
            outputs=_run_outputs(state),
            status_reason=reason,
            hook_errors=_pipeline_hook_errors(state) or None,
        ),
    )
    if final is not ExecutionStatus.COMPLETED:
        _raise_failure(state, run, failure)
    return run


def _run_steps(
    state: RunState, init_error: BaseException | None, orchestrator: BaseOrchestrator
) -> dict[str, ExecutionStatus]:
    if init_error is None:
        statuses = run_steps(state, reusing(orchestrator, state))
        if state.spec.config.dynamic:
            _record_dynamic_graph(state)
        return statuses
    runner = StepRunner(state)
    for name in state.spec.steps:
        mark_step(
            state, runner, name, ExecutionStatus.SKIPPED, "not started: the on_init hook failed"
        )
    runner.flush()
    orchestrator.close()
    return dict(state.statuses)


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
    stopped = run.status is ExecutionStatus.STOPPED
    if cause is not None:
        detail = f"First error: {type(cause).__name__}: {cause}"
    elif stopped and run.status_reason:
        detail = f"Reason: {run.status_reason}."
    error = RunFailedError(run.name, failed, detail, stopped=stopped)
    error.run = run  # type: ignore[attr-defined]
    raise error from cause
