"""``@pipeline``: a function that wires steps together, plus its configuration."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, get_args, get_origin, overload

from pydantic import ValidationError

from headrace.config.base import validation_problems
from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.retry_config import StepRetryConfig
from headrace.config.source import source_of
from headrace.dsl.code_hash import code_hash
from headrace.dsl.options import (
    HookSpec,
    check_hook_signature,
    pipeline_configuration,
    register_object,
)
from headrace.enums import ExecutionMode
from headrace.exceptions import ConfigurationError, DefinitionError
from headrace.utils.signal_dispatch import arm as arm_signal_handling
from headrace.utils.suggest import unknown_key_message

if TYPE_CHECKING:
    from headrace.config.schedule import Schedule
    from headrace.dsl.compiler import CompiledPipeline

P = ParamSpec("P")
T = TypeVar("T")

_RUN_HOOKS = {"on_failure": "failure_hook_source", "on_success": "success_hook_source"}


class Pipeline(Generic[P]):
    """A pipeline: ``entrypoint`` wires steps; ``configuration`` and ``run_configuration``
    hold its options and those of the next run.
    """

    def __init__(
        self,
        entrypoint: Callable[P, Any],
        configuration: PipelineConfiguration | None = None,
        objects: dict[str, Any] | None = None,
        run_configuration: PipelineRunConfiguration | None = None,
    ) -> None:
        if not callable(entrypoint):
            raise DefinitionError(f"@pipeline needs a function, got {entrypoint!r}.")
        for param in inspect.signature(entrypoint).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                raise DefinitionError(
                    f"Pipeline {entrypoint.__name__!r}: parameter {param.name!r} must be an "
                    "ordinary named parameter (no *args, **kwargs or positional-only)."
                )
        self.entrypoint = entrypoint
        self.configuration = configuration or PipelineConfiguration.empty()
        self.objects: dict[str, Any] = dict(objects or {})
        self.run_configuration = run_configuration or PipelineRunConfiguration.empty()
        self.__doc__ = entrypoint.__doc__
        self.__name__ = getattr(entrypoint, "__name__", "pipeline")
        self.__qualname__ = getattr(entrypoint, "__qualname__", self.__name__)
        self.__module__ = getattr(entrypoint, "__module__", __name__)
        self.__wrapped__ = entrypoint
        # Runs later driven from any thread of this process end ``stopped`` on SIGINT
        # or SIGTERM: only the main thread can install the handler that reaches them.
        arm_signal_handling()

    @property
    def name(self) -> str:
        """The pipeline's name: the ``name`` option, else the function's name."""
        return self.configuration.name or self.__name__

    @property
    def source(self) -> str:
        """Source reference of the pipeline function."""
        return source_of(self.entrypoint)

    @property
    def code_hash(self) -> str:
        """Hash of the pipeline function's code."""
        return code_hash(self.entrypoint)

    @property
    def is_dynamic(self) -> bool:
        """Whether the pipeline function runs at run time (``dynamic=True``)."""
        return self.configuration.dynamic

    @property
    def model(self) -> Any:
        """The stored pipeline of this name (``PipelineResponse``: ``.runs``,
        ``.last_run``, ...), read from the store runs go to.

        Raises:
            EntityNotFoundError: the pipeline has not run (nor been snapshotted) yet.
        """
        from headrace.utils.entry_points import STORED_PIPELINE, entry_point

        return entry_point(STORED_PIPELINE)(self.name)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"

    def output_names(self, count: int) -> list[str | None]:
        """Names from the return annotation (``Annotated[T, "name"]``), one per output."""
        from headrace.dsl.signature import _strip_annotated, _type_hints

        annotation = _type_hints(self.entrypoint).get("return")
        if annotation is None:
            return [None] * count
        base, name = _strip_annotated(annotation)
        if count == 1:
            return [name]
        if get_origin(base) is tuple:
            names = [_strip_annotated(a)[1] for a in get_args(base)]
            if len(names) == count:
                return names
        return [None] * count

    # -- configuration ------------------------------------------------------------------
    def configure(self, **options: Any) -> Pipeline[P]:
        """Change the pipeline's options in place; returns the pipeline."""
        update = pipeline_configuration(options, self.objects, f"pipeline {self.name!r}")
        self.configuration = self.configuration.merged_with(update)
        return self

    def with_options(
        self,
        run_name: str | None = None,
        schedule: Schedule | None = None,
        config_path: str | Path | None = None,
        steps: Mapping[str, Any] | None = None,
        synchronous: bool | None = None,
        **options: Any,
    ) -> Pipeline[P]:
        """A copy configured for its next runs.

        Layers, later winning: the decorator and ``configure()``, then the YAML file at
        ``config_path``, then the keyword arguments given here.
        """
        from headrace.config.run_config_file import load_run_configuration

        clone = copy.copy(self)
        clone.objects = dict(self.objects)
        run_config = self.run_configuration
        if config_path is not None:
            parameters = inspect.signature(self.entrypoint).parameters
            run_config = run_config.merged_with(
                load_run_configuration(config_path, pipeline_parameters=parameters)
            )
        explicit: dict[str, Any] = {
            "run_name": run_name,
            "schedule": schedule,
            "steps": dict(steps) if steps is not None else None,
            "synchronous": synchronous,
        }
        pipeline_only: dict[str, Any] = {}
        for key, value in options.items():
            if key in _RUN_HOOKS:
                if value is not None:
                    check_hook_signature(value, key, f"pipeline {self.name!r}")
                explicit[_RUN_HOOKS[key]] = (
                    None if value is None else register_object(value, clone.objects, what=key)
                )
            elif key in PipelineRunConfiguration.model_fields:
                explicit[key] = value
            elif key in PipelineConfiguration.model_fields or key in ("on_init", "on_cleanup"):
                pipeline_only[key] = value
            else:
                valid = [*with_options_keywords(), *options_of_with_options()]
                raise ConfigurationError(
                    f"Pipeline {self.name!r}: with_options() got an "
                    f"{unknown_key_message('option', key, valid)}."
                )
        given = {k: v for k, v in explicit.items() if v is not None}
        try:
            update = PipelineRunConfiguration.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(validation_problems(exc))
            raise ConfigurationError(
                f"Pipeline {self.name!r}: invalid run option: {problems}."
            ) from exc
        clone.run_configuration = run_config.merged_with(update)
        if pipeline_only:
            clone.configure(**pipeline_only)
        return clone

    # -- compiling and running ----------------------------------------------------------
    def compile(self, *args: Any, **kwargs: Any) -> CompiledPipeline:
        """Compile a call of this pipeline into a spec without running it."""
        from headrace.dsl.compiler import compile_pipeline

        return compile_pipeline(self, args, kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Run the pipeline (or, inside another pipeline, add its steps there)."""
        from headrace.dsl.compiler import active_builder

        builder = active_builder()
        if builder is not None:
            return builder_compose(builder, self, args, kwargs)
        from headrace.utils.collection import collecting_less
        from headrace.utils.entry_points import RUN_PIPELINE, entry_point

        with collecting_less():  # a long run's collections would rescan all it holds
            return entry_point(RUN_PIPELINE)(self, args, kwargs)

    def create_snapshot(
        self,
        name: str,
        description: str | None = None,
        replace: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Store a named, immutable snapshot of this pipeline that anyone can run.

        Pipeline parameters come from ``args``/``kwargs``, the run configuration
        (``with_options(parameters=...)`` or YAML) and the signature's defaults. A taken
        name is an error unless ``replace`` is true.
        """
        from headrace.utils.entry_points import CREATE_SNAPSHOT, entry_point

        return entry_point(CREATE_SNAPSHOT)(self, name, description, replace, args, kwargs)

    def deploy(self, name: str, **options: Any) -> Any:
        """Snapshot this pipeline and serve it as HTTP deployment ``name`` with the
        active stack's deployer; returns the deployment and its bearer key (shown once).

        ``options``: ``tracking``, ``auth``, ``threads``, ``max_request_bytes``, ``port``,
        ``stack`` (see ``headrace.deployments.deploy_snapshot``).
        """
        from headrace.utils.entry_points import DEPLOY_PIPELINE, entry_point

        return entry_point(DEPLOY_PIPELINE)(self, name, options)

    def run(self, *args: Any, schedule: Schedule | None = None, **kwargs: Any) -> Any:
        """Run once, or register a schedule when ``schedule`` is given."""
        target = self.with_options(schedule=schedule) if schedule is not None else self
        return target(*args, **kwargs)


def with_options_keywords() -> list[str]:
    """The named keywords of ``Pipeline.with_options``."""
    return ["run_name", "schedule", "config_path", "steps", "synchronous"]


def options_of_with_options() -> list[str]:
    """Every other keyword ``with_options`` accepts (run and pipeline options)."""
    hooks = ["on_failure", "on_success", "on_init", "on_cleanup"]
    sources = {*_RUN_HOOKS.values(), "init_hook_source", "cleanup_hook_source"}
    fields = {*PipelineRunConfiguration.model_fields, *PipelineConfiguration.model_fields}
    return sorted({*hooks, *(f for f in fields if f not in sources)})


def builder_compose(builder: Any, pipeline: Pipeline[Any], args: Any, kwargs: Any) -> Any:
    """Add a nested pipeline's steps to the outer graph under the nested pipeline's name."""
    signature = inspect.signature(pipeline.entrypoint)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    builder.objects.update(pipeline.objects)
    with builder.prefixed(pipeline.name):
        return pipeline.entrypoint(**bound.arguments)


@overload
def pipeline(_func: Callable[P, Any]) -> Pipeline[P]: ...


@overload
def pipeline(
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    enable_artifact_metadata: bool | None = None,
    enable_artifact_visualization: bool | None = None,
    enable_step_logs: bool | None = None,
    enable_pipeline_logs: bool | None = None,
    settings: Mapping[str, Any] | None = None,
    tags: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    on_failure: HookSpec | None = None,
    on_success: HookSpec | None = None,
    on_init: HookSpec | None = None,
    on_init_kwargs: dict[str, Any] | None = None,
    on_cleanup: HookSpec | None = None,
    model: Model | None = None,
    retry: StepRetryConfig | None = None,
    substitutions: dict[str, str] | None = None,
    execution_mode: ExecutionMode | str | None = None,
    cache_policy: CachePolicy | None = None,
    environment: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
    dynamic: bool | None = None,
) -> Callable[[Callable[P, Any]], Pipeline[P]]: ...


def pipeline(
    _func: Callable[P, Any] | None = None,
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    enable_artifact_metadata: bool | None = None,
    enable_artifact_visualization: bool | None = None,
    enable_step_logs: bool | None = None,
    enable_pipeline_logs: bool | None = None,
    settings: Mapping[str, Any] | None = None,
    tags: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    on_failure: HookSpec | None = None,
    on_success: HookSpec | None = None,
    on_init: HookSpec | None = None,
    on_init_kwargs: dict[str, Any] | None = None,
    on_cleanup: HookSpec | None = None,
    model: Model | None = None,
    retry: StepRetryConfig | None = None,
    substitutions: dict[str, str] | None = None,
    execution_mode: ExecutionMode | str | None = None,
    cache_policy: CachePolicy | None = None,
    environment: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
    dynamic: bool | None = None,
) -> Pipeline[P] | Callable[[Callable[P, Any]], Pipeline[P]]:
    """Turn a function into a pipeline; usable bare or with options."""
    options = {
        "name": name,
        "enable_cache": enable_cache,
        "enable_artifact_metadata": enable_artifact_metadata,
        "enable_artifact_visualization": enable_artifact_visualization,
        "enable_step_logs": enable_step_logs,
        "enable_pipeline_logs": enable_pipeline_logs,
        "settings": settings,
        "tags": tags,
        "extra": extra,
        "on_failure": on_failure,
        "on_success": on_success,
        "on_init": on_init,
        "init_hook_kwargs": on_init_kwargs,
        "on_cleanup": on_cleanup,
        "model": model,
        "retry": retry,
        "substitutions": substitutions,
        "execution_mode": execution_mode,
        "cache_policy": cache_policy,
        "environment": environment,
        "secrets": secrets,
        "dynamic": dynamic,
    }

    def decorate(func: Callable[P, Any]) -> Pipeline[P]:
        if isinstance(func, Pipeline):
            raise DefinitionError(f"{func.name!r} is already a pipeline; apply @pipeline once.")
        objects: dict[str, Any] = {}
        owner = f"pipeline {name or getattr(func, '__name__', func)!r}"
        configuration = pipeline_configuration(options, objects, owner)
        return Pipeline(func, configuration, objects)

    if _func is not None:
        return decorate(_func)
    return decorate
