"""``@step``: a function plus its configuration; calling it inside a pipeline adds a node."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.retry_config import StepRetryConfig
from headrace.config.source import source_of
from headrace.config.step_configurations import StepConfiguration
from headrace.dsl.code_hash import code_hash
from headrace.dsl.options import (
    HookSpec,
    OutputMaterializers,
    normalize_output_materializers,
    step_configuration,
)
from headrace.dsl.signature import StepSignature, inspect_step
from headrace.exceptions import DefinitionError
from headrace.utils.env import ENV_RUN_SINGLE_STEPS_WITHOUT_STACK, env_flag

if TYPE_CHECKING:
    from headrace.dsl.outputs import StepArtifact

P = ParamSpec("P")
R = TypeVar("R")


class BaseStep(Generic[P, R]):
    """A step: ``entrypoint`` is the plain function, ``configuration`` its options.

    Defining a step runs nothing; calling it inside a pipeline records an invocation,
    and calling it anywhere else runs it as a one-step, unlisted pipeline run.
    """

    _is_headrace_step = True

    def __init__(
        self,
        entrypoint: Callable[P, R],
        configuration: StepConfiguration | None = None,
        objects: dict[str, Any] | None = None,
        output_materializers: dict[str, list[str]] | None = None,
    ) -> None:
        if not callable(entrypoint):
            raise DefinitionError(f"@step needs a function, got {entrypoint!r}.")
        self.entrypoint: Callable[P, R] = entrypoint
        self.configuration = configuration or StepConfiguration.empty()
        self.objects: dict[str, Any] = dict(objects or {})
        self.output_materializers: dict[str, list[str]] = dict(output_materializers or {})
        self._signature: StepSignature | None = None
        self.__doc__ = entrypoint.__doc__
        self.__name__ = getattr(entrypoint, "__name__", "step")
        self.__qualname__ = getattr(entrypoint, "__qualname__", self.__name__)
        self.__module__ = getattr(entrypoint, "__module__", __name__)
        self.__wrapped__ = entrypoint

    # -- identity -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The step's name: the ``name`` option, else the function's name."""
        return self.configuration.name or self.__name__

    @property
    def source(self) -> str:
        """Source reference of the step function (``module.qualname``)."""
        return source_of(self.entrypoint)

    @property
    def signature(self) -> StepSignature:
        """The step's inputs and outputs, read once."""
        if self._signature is None:
            self._signature = inspect_step(self.entrypoint, self.name)
        return self._signature

    @property
    def code_hash(self) -> str:
        """Hash of the step's code and the project code it reaches."""
        return code_hash(self.entrypoint)

    @property
    def docstring(self) -> str | None:
        """The step function's docstring."""
        return self.entrypoint.__doc__

    def __repr__(self) -> str:
        return f"<step {self.name}>"

    # -- configuration ------------------------------------------------------------------
    def configure(self, **options: Any) -> BaseStep[P, R]:
        """Change this step's options in place; returns the step."""
        materializers = options.pop("output_materializers", None)
        update = step_configuration(options, self.objects, f"step {self.name!r}")
        self.configuration = self.configuration.merged_with(update)
        if materializers is not None:
            self.output_materializers.update(
                normalize_output_materializers(materializers, self.objects, f"step {self.name!r}")
            )
        self._signature = None if "name" in options else self._signature
        return self

    def with_options(self, **options: Any) -> BaseStep[P, R]:
        """A copy of this step with changed options (``name=``, ``enable_cache=``, ...)."""
        clone = copy.copy(self)
        clone.objects = dict(self.objects)
        clone.output_materializers = dict(self.output_materializers)
        return clone.configure(**options)

    # -- calling ------------------------------------------------------------------------
    def __call__(
        self,
        *args: Any,
        id: str | None = None,
        after: str | StepArtifact | Sequence[str | StepArtifact] | None = None,
        **kwargs: Any,
    ) -> Any:
        """In a pipeline: add an invocation and return its output placeholders.

        Outside one: run the step as a one-step unlisted run and return its output
        value(s); or call the plain function when
        ``HEADRACE_RUN_SINGLE_STEPS_WITHOUT_STACK`` is true.
        """
        from headrace.dsl.compiler import active_builder

        builder = active_builder()
        if builder is not None:
            return builder.add_invocation(self, args, kwargs, custom_id=id, after=after)
        if env_flag(ENV_RUN_SINGLE_STEPS_WITHOUT_STACK):
            return self.entrypoint(*args, **kwargs)
        from headrace.utils.entry_points import RUN_SINGLE_STEP, entry_point

        return entry_point(RUN_SINGLE_STEP)(self, args, kwargs)


@overload
def step(_func: Callable[P, R]) -> BaseStep[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    enable_artifact_metadata: bool | None = None,
    enable_artifact_visualization: bool | None = None,
    enable_step_logs: bool | None = None,
    experiment_tracker: str | None = None,
    step_operator: str | None = None,
    output_materializers: OutputMaterializers | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    on_failure: HookSpec | None = None,
    on_success: HookSpec | None = None,
    model: Model | None = None,
    retry: StepRetryConfig | None = None,
    substitutions: dict[str, str] | None = None,
    cache_policy: CachePolicy | None = None,
    environment: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
) -> Callable[[Callable[P, R]], BaseStep[P, R]]: ...


def step(
    _func: Callable[P, R] | None = None,
    *,
    name: str | None = None,
    enable_cache: bool | None = None,
    enable_artifact_metadata: bool | None = None,
    enable_artifact_visualization: bool | None = None,
    enable_step_logs: bool | None = None,
    experiment_tracker: str | None = None,
    step_operator: str | None = None,
    output_materializers: OutputMaterializers | None = None,
    settings: Mapping[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    on_failure: HookSpec | None = None,
    on_success: HookSpec | None = None,
    model: Model | None = None,
    retry: StepRetryConfig | None = None,
    substitutions: dict[str, str] | None = None,
    cache_policy: CachePolicy | None = None,
    environment: dict[str, Any] | None = None,
    secrets: list[str] | None = None,
) -> BaseStep[P, R] | Callable[[Callable[P, R]], BaseStep[P, R]]:
    """Turn a function into a step; usable bare (``@step``) or with options (``@step(...)``)."""
    options = {
        "name": name,
        "enable_cache": enable_cache,
        "enable_artifact_metadata": enable_artifact_metadata,
        "enable_artifact_visualization": enable_artifact_visualization,
        "enable_step_logs": enable_step_logs,
        "experiment_tracker": experiment_tracker,
        "step_operator": step_operator,
        "settings": settings,
        "extra": extra,
        "on_failure": on_failure,
        "on_success": on_success,
        "model": model,
        "retry": retry,
        "substitutions": substitutions,
        "cache_policy": cache_policy,
        "environment": environment,
        "secrets": secrets,
    }

    def decorate(func: Callable[P, R]) -> BaseStep[P, R]:
        if isinstance(func, BaseStep):
            raise DefinitionError(f"{func.name!r} is already a step; apply @step once.")
        owner = f"step {name or getattr(func, '__name__', func)!r}"
        objects: dict[str, Any] = {}
        configuration = step_configuration(options, objects, owner)
        materializers = normalize_output_materializers(output_materializers, objects, owner)
        return BaseStep(func, configuration, objects, materializers)

    if _func is not None:
        return decorate(_func)
    return decorate
