"""The StepRunner: what one step run does, wherever it runs.

Protocol, one function each: cache lookup -> record start -> load inputs -> call with
retries -> materialize outputs -> record completion -> hooks. Orchestrators only decide
when and where ``run`` is called; everything a step run does happens here.

The runner is handed a ``StepTask`` (its inputs already resolved to artifact versions)
and returns a ``StepResult``; it never reads what other steps of the run did from
memory. The ``RunState`` it holds is the driver's own when the step runs in the driver's
process (live objects, ``pipeline_state``), or one built from the task elsewhere
(``headrace.execution.task_state``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from headrace.artifacts.integrity import artifact_is_whole
from headrace.artifacts.saving import SavedArtifact, materializer_for_value, save_value
from headrace.config.resolution import EffectiveStepConfig, effective_step_config
from headrace.config.spec import StepSpec
from headrace.dsl.signature import StepSignature, inspect_step
from headrace.enums import ExecutionStatus
from headrace.exceptions import (
    MaterializerError,
    StepInterruptedError,
    StepOutputTypeError,
    StoreError,
)
from headrace.execution.cache import compute_cache_key
from headrace.execution.context import StepContext, reset_step_context, set_step_context
from headrace.execution.explicit_versions import refuse_taken_versions
from headrace.execution.hooks import run_hook
from headrace.execution.interrupts import user_code
from headrace.execution.logs import LiveLogBuffer, capturing, step_log_uri
from headrace.execution.run_state import OutputRecord, RunState
from headrace.execution.secrets import environment_applied, secret_values
from headrace.execution.step_task import StepResult, StepTask, is_immutable
from headrace.execution.type_checks import check_input, check_output, coerce_parameter
from headrace.models import ArtifactVersionRequest, StepRunRequest, StepRunUpdate
from headrace.models.step_run import HookError, StepRunError
from headrace.store.factory import reset_active_store, set_active_store
from headrace.utils.ids import random_id
from headrace.utils.terminal import SHOWN_BY_PROGRESS, headrace_logger

logger = headrace_logger()

_SIGNATURES: dict[Any, StepSignature] = {}
_CACHED_CONFIGS = 256  # configurations a runner keeps worked out


def _now() -> datetime:
    return datetime.now(UTC)


def step_error(exc: BaseException) -> StepRunError:
    """How a step's exception is recorded."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return StepRunError(
        type=name,
        message=str(exc),
        traceback="".join(traceback.format_exception(exc)),
    )


class StepRunner:
    """Runs the steps of one pipeline run."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        # Records of steps that ran no code (cache hits, skips), and the "running" record
        # of a step that just started, wait here. They are written in one transaction
        # with the next completion, when a step fails, by the run's flusher once they are
        # FLUSH_AFTER_S old (so a long step shows as running), or when the run ends.
        # Completed records and their artifacts are always durable before a dependent
        # step starts; these pending rows are bookkeeping nothing downstream reads.
        self._pending: list[tuple[float, StepRunRequest]] = []
        self.defer_start_records = True
        # Held from taking pending records until they are committed: a thread that finds
        # its own record gone knows it is in the store, never in someone's open transaction.
        self._write_lock = threading.Lock()
        # Per configuration object (kept referenced, so an id is never reused meanwhile).
        self._configs: dict[tuple[int, int], tuple[Any, Any, EffectiveStepConfig]] = {}
        self._recorded: dict[int, tuple[Any, dict[str, Any]]] = {}

    def flush(self, older_than: float | None = None) -> None:
        """Write pending step-run records (only if the oldest is ``older_than`` seconds old)."""
        with self._write_lock:
            with self.state.lock:
                if older_than is not None:
                    cutoff = time.monotonic() - older_than
                    if not self._pending or self._pending[0][0] > cutoff:
                        return
                pending, self._pending = self._pending, []
            if pending:
                try:
                    self.state.store.create_step_runs([request for _, request in pending])
                except BaseException:
                    self._put_back(pending)
                    raise

    def _put_back(self, pending: list[tuple[float, StepRunRequest]]) -> None:
        """Records a failed write did not record wait again, in front, for the next write:
        dropping a step's start record would leave its completion (an update of that row
        and outputs naming it as their producer) referring to a row that never exists."""
        with self.state.lock:
            self._pending[:0] = pending

    def _take_pending(self) -> list[StepRunRequest]:
        """The pending records, for a write the caller makes while holding the write lock."""
        with self.state.lock:
            pending, self._pending = self._pending, []
        return [request for _, request in pending]

    def _record_later(self, request: StepRunRequest) -> None:
        with self.state.lock:
            self._pending.append((time.monotonic(), request))

    def _record_now(self, request: StepRunRequest) -> None:
        with self._write_lock:
            with self.state.lock:
                pending, self._pending = self._pending, []
            try:
                self.state.store.create_step_runs([*(r for _, r in pending), request])
            except BaseException:
                self._put_back(pending)
                raise

    # -- entry points -------------------------------------------------------------------
    def run(self, task: StepTask) -> StepResult:
        """Run (or reuse from cache) one step; returns how it ended."""
        step = task.step
        config = self._effective_config(task)
        inputs = task.inputs
        try:
            cache_key = self._cache_key(step, config, inputs)
            if cache_key is not None:
                cached = self._try_cache(step, cache_key, inputs)
                if cached is not None:
                    return cached
        except Exception as exc:
            return self._fail_before_start(step, exc)
        return self._execute(step, config, inputs, cache_key)

    def _effective_config(self, task: StepTask) -> EffectiveStepConfig:
        """The step's effective configuration, worked out once per configuration object:
        the steps of one run share few (every invocation of a step shares its own)."""
        key = (id(task.pipeline_config), id(task.step.config))
        cached = self._configs.get(key)
        if (
            cached is not None
            and cached[0] is task.pipeline_config
            and cached[1] is task.step.config
        ):
            return cached[2]
        config = effective_step_config(task.pipeline_config, task.step.config)
        if len(self._configs) >= _CACHED_CONFIGS:  # tasks read from JSON: new objects each
            self._configs.clear()
        self._configs[key] = (task.pipeline_config, task.step.config, config)
        return config

    def _recorded_config(self, step: StepSpec) -> dict[str, Any]:
        """The configuration a step ran with, as recorded on its step run (its JSON form
        worked out once per configuration object)."""
        cached = self._recorded.get(id(step.config))
        if cached is None or cached[0] is not step.config:
            cached = (step.config, step.config.model_dump(mode="json", exclude_defaults=True))
            if len(self._recorded) >= _CACHED_CONFIGS:
                self._recorded.clear()
            self._recorded[id(step.config)] = cached
        return {**cached[1], "parameters": step.parameters}

    def mark(self, invocation_id: str, status: ExecutionStatus, reason: str) -> None:
        """Record a step that will not run (skipped or stopped before it started)."""
        self._record_later(self.mark_request(invocation_id, status, reason))

    def mark_request(
        self, invocation_id: str, status: ExecutionStatus, reason: str
    ) -> StepRunRequest:
        """The record of a step that ended ``status`` without running to the end."""
        step = self.state.spec.steps[invocation_id]
        now = _now()
        return StepRunRequest(
            id=random_id(),
            pipeline_run_id=self.state.run.id,
            name=step.invocation_id,
            step_name=step.step_name,
            status=status,
            source=step.source,
            code_hash=step.code_hash,
            parameters=step.parameters,
            docstring=step.docstring,
            start_time=None,
            end_time=now,
            status_reason=reason,
        )

    # -- inputs -------------------------------------------------------------------------

    def _signature(self, step: StepSpec, func: Any) -> StepSignature:
        key = getattr(func, "__code__", func)
        signature = _SIGNATURES.get(key)
        if signature is None:
            signature = inspect_step(func, step.step_name)
            _SIGNATURES[key] = signature
        return signature

    def _load_record(self, record: OutputRecord, step: StepSpec, name: str) -> Any:
        return self.state.value_of(record, f"input {name!r} of step {step.invocation_id!r}")

    def _unmaterialized(self, record: OutputRecord) -> Any:
        from headrace.artifacts.unmaterialized_artifact import UnmaterializedArtifact

        version = self.state.store.get_artifact_version(record.artifact_version_id)
        if version.inline_content is not None:  # the step reads ``uri`` itself
            from headrace.artifacts.loading import write_out_inline

            write_out_inline(version, self.state.store)
        return UnmaterializedArtifact(**version.model_dump()).attach(version._context)

    def _arguments(
        self, step: StepSpec, signature: StepSignature, inputs: dict[str, list[OutputRecord]]
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, raw in step.parameters.items():
            info = signature.inputs.get(name)
            annotation = info.annotation if info is not None else Any
            kwargs[name] = coerce_parameter(raw, annotation, step=step.invocation_id, name=name)
        for name, records in inputs.items():
            info = signature.inputs.get(name)
            annotation = info.annotation if info is not None else Any
            input_spec = step.input_types.get(name)
            if input_spec is not None and input_spec.unmaterialized:
                kwargs[name] = self._bound([self._unmaterialized(r) for r in records], step, name)
                continue
            values = [self._load_record(r, step, name) for r in records]
            value = self._bound(values, step, name)
            check_input(value, annotation, step=step.invocation_id, name=name)
            kwargs[name] = value
        return kwargs

    @staticmethod
    def _bound(values: list[Any], step: StepSpec, name: str) -> Any:
        """Shape loaded values as the binding says: one value, a list, or a dict."""
        binding = step.inputs[name]
        if binding.kind == "artifact":
            return values[0]
        if binding.kind == "dict":
            return dict(zip(binding.keys, values, strict=True))
        return values

    # -- cache --------------------------------------------------------------------------
    def _cache_key(
        self, step: StepSpec, config: EffectiveStepConfig, inputs: dict[str, list[OutputRecord]]
    ) -> str | None:
        if not config.enable_cache:
            return None
        return compute_cache_key(
            self.state, step, config.cache_policy, inputs, config.environment, config.secrets
        )

    def _try_cache(
        self, step: StepSpec, cache_key: str, inputs: dict[str, list[OutputRecord]]
    ) -> StepResult | None:
        """The result of reusing a cached run of this step; ``None`` on a miss."""
        policy = step.config.cache_policy or self.state.spec.config.cache_policy
        max_age = policy.max_age_seconds if policy is not None else None
        created_after = _now() - timedelta(seconds=max_age) if max_age else None
        hit = self.state.store.find_cache_hit(cache_key, created_after)
        if hit is None or set(hit.outputs) != set(step.outputs):
            return None
        versions = {name: list(vs) for name, vs in hit.outputs.items()}
        for vs in versions.values():
            for version in vs:
                if not artifact_is_whole(
                    self.state.artifact_store,
                    version.uri,
                    version.content_hash,
                    version.inline_content,
                ):
                    logger.warning(
                        "Step %r: the cached output %s is missing or was changed in the "
                        "artifact store; running the step again.",
                        step.invocation_id,
                        version.uri,
                    )
                    return None
        now = _now()
        step_run_id = random_id()
        self._record_later(
            StepRunRequest(
                id=step_run_id,
                pipeline_run_id=self.state.run.id,
                name=step.invocation_id,
                step_name=step.step_name,
                status=ExecutionStatus.CACHED,
                source=step.source,
                code_hash=step.code_hash,
                cache_key=cache_key,
                parameters=step.parameters,
                docstring=step.docstring,
                start_time=now,
                end_time=now,
                original_step_run_id=hit.step_run_id,
                inputs={n: [r.artifact_version_id for r in rs] for n, rs in inputs.items()},
                outputs={n: [v.id for v in vs] for n, vs in versions.items()},
                model_version_id=self._model_version_id(step),
            )
        )
        outputs: dict[str, OutputRecord] = {}
        for name, vs in versions.items():
            version = vs[0]
            outputs[name] = OutputRecord(
                artifact_version_id=version.id,
                uri=version.uri,
                materializer=version.materializer,
                data_type=version.data_type,
                content_hash=version.content_hash,
                python_version=version.python_version,
                inline=version.inline_content,
            )
        return StepResult(step.invocation_id, ExecutionStatus.CACHED, step_run_id, outputs)

    # -- execution ----------------------------------------------------------------------
    def _execute(
        self,
        step: StepSpec,
        config: EffectiveStepConfig,
        inputs: dict[str, list[OutputRecord]],
        cache_key: str | None,
    ) -> StepResult:
        state = self.state
        step_run_id = random_id()
        start = _now()
        (self._record_later if self.defer_start_records else self._record_now)(
            # Built from validated parts: constructed without validating them again.
            StepRunRequest.constructed(
                id=step_run_id,
                pipeline_run_id=state.run.id,
                name=step.invocation_id,
                step_name=step.step_name,
                status=ExecutionStatus.RUNNING,
                source=step.source,
                code_hash=step.code_hash,
                cache_key=cache_key,
                parameters=step.parameters,
                config=self._recorded_config(step),
                docstring=step.docstring,
                start_time=start,
                inputs={n: [r.artifact_version_id for r in rs] for n, rs in inputs.items()},
                model_version_id=self._model_version_id(step),
            )
        )
        progress = state.progress
        if progress is not None:  # in the driver's process only
            progress.step_started(step.invocation_id, step_run_id)
        context = StepContext(state, step, step_run_id)
        context.flush_records = self.flush
        context.log_buffer = (
            LiveLogBuffer(
                state.artifact_store,
                step_log_uri(state.artifact_store, state.run.id, step.invocation_id),
            )
            if config.enable_step_logs
            else None
        )
        token = set_step_context(context)
        store_token = set_active_store(state.store)
        try:
            with capturing(context.log_buffer):
                return self._run_started(step, config, inputs, context)
        finally:
            reset_active_store(store_token)
            reset_step_context(token)

    def _run_started(
        self,
        step: StepSpec,
        config: EffectiveStepConfig,
        inputs: dict[str, list[OutputRecord]],
        context: StepContext,
    ) -> StepResult:
        state = self.state
        attempts = 0
        try:
            func = state.resolve(step.source)
            refuse_taken_versions(state, step)
            signature = self._signature(step, func)
            kwargs = self._arguments(step, signature, inputs)
            restore = self._step_environment(step)
            try:
                result, attempts = self._call_with_retries(step, config, func, kwargs, context)
            finally:
                restore()
            values = self._split_outputs(step, signature, result)
            saved = self._materialize(step, config, values, context)
        except StepInterruptedError as exc:
            attempts = max(attempts, len(context.attempt_errors) + 1)
            return self._record_failure(
                step, context, exc, attempts, ExecutionStatus.STOPPED, config
            )
        except KeyboardInterrupt as exc:
            self._record_failure(step, context, exc, attempts, ExecutionStatus.STOPPED, config)
            raise
        except Exception as exc:
            return self._record_failure(
                step, context, exc, attempts, ExecutionStatus.FAILED, config
            )
        try:
            outputs = self._record_success(step, context, saved, values, attempts)
        except StoreError as exc:
            # The store refused the completion (disk full, read-only): record the step as
            # failed instead, so the run can still end, if the store takes that write.
            return self._record_failure(
                step, context, exc, attempts, ExecutionStatus.FAILED, config
            )
        if config.success_hook_source:
            _, error = run_hook(state, config.success_hook_source, "on_success", step.invocation_id)
            if error is not None:
                self._record_hook_error(context, "on_success", config.success_hook_source, error)
        return StepResult(
            step.invocation_id, ExecutionStatus.COMPLETED, context.step_run_id, outputs
        )

    def _record_hook_error(
        self, context: StepContext, hook: str, source: str, error: BaseException
    ) -> None:
        context.hook_errors.append(
            HookError(hook=hook, source=source, type=type(error).__name__, message=str(error))
        )
        self.flush()
        self.state.store.update_step_run(
            context.step_run_id, StepRunUpdate(hook_errors=list(context.hook_errors))
        )

    def _write_logs(self, step: StepSpec, context: StepContext) -> str | None:
        """Store what the step printed; ``None`` when it printed nothing."""
        buffer = context.log_buffer
        if not buffer:
            return None
        store = self.state.artifact_store
        uri = step_log_uri(store, self.state.run.id, step.invocation_id)
        try:
            with store.open(uri, "w") as handle:
                handle.write("".join(buffer))
        except OSError as exc:
            # A full or read-only disk must not cost the step its recorded outcome (or
            # leave the run unended): the step's status matters more than its log.
            logger.warning("Step %r: its log could not be stored (%s).", step.invocation_id, exc)
            with contextlib.suppress(OSError):
                store.remove(uri)
            return None
        return uri

    def _call_with_retries(
        self,
        step: StepSpec,
        config: EffectiveStepConfig,
        func: Callable[..., Any],
        kwargs: dict[str, Any],
        context: StepContext,
    ) -> tuple[Any, int]:
        retry = config.retry
        max_retries = retry.max_retries if retry is not None else 0
        attempt = 0
        while True:
            attempt += 1
            try:
                with user_code():
                    return func(**kwargs), attempt
            except (StepInterruptedError, KeyboardInterrupt):
                raise
            except Exception as exc:
                if max_retries:
                    context.attempt_errors.append(step_error(exc))
                if attempt > max_retries:
                    raise
                assert retry is not None
                wait = retry.wait_before(attempt)
                logger.warning(
                    "Step %r failed (attempt %d of %d): %s: %s. Retrying in %.3g s.",
                    step.invocation_id,
                    attempt,
                    max_retries + 1,
                    type(exc).__name__,
                    exc,
                    wait,
                )
                self.flush()
                self.state.store.update_step_run(
                    context.step_run_id,
                    StepRunUpdate(
                        status=ExecutionStatus.RETRYING,
                        attempts=attempt,
                        error=step_error(exc),
                        attempt_errors=list(context.attempt_errors),
                    ),
                )
                if wait:
                    with user_code():  # a stopping run may interrupt the wait
                        time.sleep(wait)

    def _step_environment(self, step: StepSpec) -> Callable[[], None]:
        """Apply the step's own environment and secrets (the pipeline's are set already).

        The environment is process-wide: steps running at the same time see each other's
        variables, so give parallel steps that need different values distinct names.
        """
        if not step.config.environment and not step.config.secrets:
            return _nothing
        environment = dict(step.config.environment)
        for name in step.config.secrets:
            environment.update(
                secret_values(self.state.store, name, f"Step {step.invocation_id!r}")
            )
        return environment_applied(environment)

    def _split_outputs(
        self, step: StepSpec, signature: StepSignature, result: Any
    ) -> dict[str, Any]:
        outputs = signature.outputs
        if not outputs:
            if result is not None:
                raise StepOutputTypeError(
                    f"Step {step.invocation_id!r} is annotated '-> None' but returned a "
                    f"{type(result).__name__}; annotate its output type (or drop the "
                    "annotation) so the value is stored, or return nothing."
                )
            return {}
        if len(outputs) == 1:
            values = {next(iter(outputs)): result}
        else:
            if not isinstance(result, tuple | list) or len(result) != len(outputs):
                raise StepOutputTypeError(
                    f"Step {step.invocation_id!r} declares {len(outputs)} outputs "
                    f"({', '.join(outputs)}) but returned {type(result).__name__}"
                    + (f" of length {len(result)}" if isinstance(result, tuple | list) else "")
                    + "."
                )
            values = dict(zip(outputs, result, strict=True))
        for name, value in values.items():
            info = outputs[name]
            if info.annotated:
                check_output(value, info.annotation, step=step.invocation_id, name=name)
        return values

    def _materialize(
        self,
        step: StepSpec,
        config: EffectiveStepConfig,
        values: dict[str, Any],
        context: StepContext,
    ) -> dict[str, SavedArtifact]:
        state = self.state
        saved: dict[str, SavedArtifact] = {}
        try:
            for name, value in values.items():
                sources = step.outputs[name].materializer_source or []
                candidates = [state.resolve(s) for s in sources]
                materializer_class = materializer_for_value(value, candidates)
                saved[name] = save_value(
                    value,
                    artifact_store=state.artifact_store,
                    uri=state.output_uri(step.invocation_id, name),
                    materializer_class=materializer_class,
                    collect_metadata=config.enable_artifact_metadata,
                    collect_visualizations=config.enable_artifact_visualization,
                )
        except BaseException as exc:
            for done in saved.values():  # nothing half-written stays behind
                if done.inline is None:
                    state.artifact_store.rmtree(done.uri)
            if isinstance(exc, Exception) and not isinstance(exc, StepInterruptedError):
                raise MaterializerError(
                    f"Step {step.invocation_id!r}: storing output {name!r} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            raise
        return saved

    # -- recording ----------------------------------------------------------------------
    def _record_success(
        self,
        step: StepSpec,
        context: StepContext,
        saved: dict[str, SavedArtifact],
        values: dict[str, Any],
        attempts: int,
    ) -> dict[str, OutputRecord]:
        """Record the step's outputs and completion; returns the outputs for downstream."""
        state = self.state
        requests: dict[str, list[ArtifactVersionRequest]] = {}
        for name, artifact in saved.items():
            artifact_name, custom = state.artifact_name(step, name)
            metadata = dict(artifact.metadata)
            metadata.update(context.output_metadata.get(name, {}))
            fields: dict[str, Any] = {
                "id": random_id(),
                "artifact_name": artifact_name,
                "has_custom_name": custom,
                "uri": artifact.uri,
                "materializer": artifact.materializer,
                "data_type": artifact.data_type,
                "content_hash": artifact.content_hash,
                "size": artifact.size,
                "python_version": artifact.python_version,
                "type": step.outputs[name].artifact_type or artifact.artifact_type,
                "artifact_store_id": state.run.stack_id,
                "metadata": metadata,
                "tags": context.output_tags.get(name, []),
                "version": step.outputs[name].artifact_version,
                "visualizations": artifact.visualizations,
            }
            if artifact.inline is not None:
                fields["inline_content"] = artifact.inline
            # Built from validated parts: constructed without validating them again
            # (visualizations are plain dicts until validated).
            requests[name] = [
                ArtifactVersionRequest(**fields)
                if artifact.visualizations
                else ArtifactVersionRequest.constructed(**fields)
            ]
        try:
            update = StepRunUpdate.constructed(
                status=ExecutionStatus.COMPLETED,
                end_time=_now(),
                attempts=max(attempts, 1),
                logs_uri=self._write_logs(step, context),
            )
            if context.attempt_errors:
                update.attempt_errors = list(context.attempt_errors)
            if context.step_metadata:
                update.run_metadata = dict(context.step_metadata)
            with self._write_lock:
                pending = self._take_pending()
                try:
                    state.store.complete_step_run(
                        context.step_run_id,
                        update,
                        requests,
                        create=pending,
                        model_version_id=self._model_version_id(step),
                    )
                except BaseException:
                    with state.lock:  # not written: keep them for the next write
                        self._pending[:0] = [(time.monotonic(), r) for r in pending]
                    raise
        except BaseException:
            for artifact in saved.values():
                if artifact.inline is None:
                    state.artifact_store.rmtree(artifact.uri)
            raise
        context.mark_recorded({name: versions[0].id for name, versions in requests.items()})
        outputs: dict[str, OutputRecord] = {}
        for name, artifact in saved.items():
            value = values[name]
            keep = is_immutable(value)
            outputs[name] = OutputRecord(
                artifact_version_id=requests[name][0].id,
                uri=artifact.uri,
                materializer=artifact.materializer,
                data_type=artifact.data_type,
                content_hash=artifact.content_hash,
                python_version=artifact.python_version,
                value=value if keep else None,
                has_value=keep,
                inline=artifact.inline,
            )
        return outputs

    def _record_failure(
        self,
        step: StepSpec,
        context: StepContext,
        exc: BaseException,
        attempts: int,
        status: ExecutionStatus,
        config: EffectiveStepConfig,
    ) -> StepResult:
        state = self.state
        if status is ExecutionStatus.FAILED:
            logger.error(
                "Step %r failed: %s: %s",
                step.invocation_id,
                type(exc).__name__,
                exc,
                extra=SHOWN_BY_PROGRESS,
            )
        if status is ExecutionStatus.FAILED and config.failure_hook_source:
            context.exception = exc
            _, hook_error = run_hook(
                state, config.failure_hook_source, "on_failure", step.invocation_id, exc
            )
            if hook_error is not None:
                context.hook_errors.append(
                    HookError(
                        hook="on_failure",
                        source=config.failure_hook_source,
                        type=type(hook_error).__name__,
                        message=str(hook_error),
                    )
                )
        self.flush()
        state.store.update_step_run(
            context.step_run_id,
            StepRunUpdate(
                status=status,
                end_time=_now(),
                error=step_error(exc),
                attempts=max(attempts, len(context.attempt_errors), 1),
                status_reason=_interrupted_reason(state)
                if status is ExecutionStatus.STOPPED
                else None,
                logs_uri=self._write_logs(step, context),
                attempt_errors=list(context.attempt_errors) or None,
                hook_errors=list(context.hook_errors) or None,
                run_metadata=dict(context.step_metadata) or None,
            ),
        )
        context.mark_recorded({})
        return StepResult.from_exception(step.invocation_id, status, exc, context.step_run_id)

    def _fail_before_start(self, step: StepSpec, exc: Exception) -> StepResult:
        """A failure before the step function was reached (inputs, cache key)."""
        now = _now()
        step_run_id = random_id()
        self._record_now(
            StepRunRequest(
                id=step_run_id,
                pipeline_run_id=self.state.run.id,
                name=step.invocation_id,
                step_name=step.step_name,
                status=ExecutionStatus.FAILED,
                source=step.source,
                code_hash=step.code_hash,
                parameters=step.parameters,
                docstring=step.docstring,
                start_time=now,
                end_time=now,
                error=step_error(exc),
            )
        )
        logger.error(
            "Step %r failed before it started: %s", step.invocation_id, exc, extra=SHOWN_BY_PROGRESS
        )
        return StepResult.from_exception(
            step.invocation_id, ExecutionStatus.FAILED, exc, step_run_id
        )

    def _model_version_id(self, step: StepSpec) -> str | None:
        version = self.state.model_version_for(step)
        return None if version is None else version.id


def _nothing() -> None:
    """Restores nothing."""


__all__ = ["StepRunner", "environment_applied", "step_error"]


def _interrupted_reason(state: RunState) -> str:
    """Why a step was interrupted: the reason its run's scheduler stopped."""
    halt = getattr(state.scheduler, "halt_reason", None)
    if halt is None or "stopping (" in halt:
        return "interrupted because another step failed (FAIL_FAST)"
    return f"interrupted: {halt}"
