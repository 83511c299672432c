"""Turn decorator keyword options into configuration models.

Callables (hooks, materializers) are recorded by source so specs stay JSON; the live
objects are kept beside the spec so in-process runs can use local functions too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from headrace.config.base import validation_problems
from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.retry_config import StepRetryConfig
from headrace.config.source import source_of
from headrace.config.step_configurations import StepConfiguration
from headrace.enums import ExecutionMode
from headrace.exceptions import ConfigurationError, DefinitionError
from headrace.utils.suggest import unknown_key_message

HookSpec = Callable[..., Any] | str
MaterializerSpec = type | str
OutputMaterializers = (
    MaterializerSpec
    | Sequence[MaterializerSpec]
    | Mapping[str, MaterializerSpec | Sequence[MaterializerSpec]]
)

_HOOK_FIELDS = {
    "on_failure": "failure_hook_source",
    "on_success": "success_hook_source",
    "on_init": "init_hook_source",
    "on_cleanup": "cleanup_hook_source",
}


def register_object(obj: Any, objects: dict[str, Any], *, what: str) -> str:
    """Record a callable or class by source; returns the source string."""
    if isinstance(obj, str):
        if "." not in obj:
            raise DefinitionError(f"{what} {obj!r} is not a source path like 'module.function'.")
        return obj
    if not callable(obj):
        raise DefinitionError(f"{what} must be a callable or a 'module.name' string, got {obj!r}.")
    source = source_of(obj)
    objects[source] = obj
    return source


def materializer_sources(spec: Any, objects: dict[str, Any], owner: str) -> list[str]:
    """One materializer or a list of them, as source strings."""
    items = [spec] if isinstance(spec, str | type) else list(spec)
    sources = []
    for item in items:
        # Checked by shape: the dsl sits below the materializers in the layering.
        if isinstance(item, type) and not (
            callable(getattr(item, "save", None)) and callable(getattr(item, "load", None))
        ):
            raise DefinitionError(
                f"{owner}: output materializer {item.__name__} is not a BaseMaterializer "
                "subclass (it has no save() and load())."
            )
        sources.append(register_object(item, objects, what=f"{owner}: output materializer"))
    return sources


def normalize_output_materializers(
    spec: OutputMaterializers | None, objects: dict[str, Any], owner: str
) -> dict[str, list[str]]:
    """``{output name or "*": [materializer sources]}`` from the decorator's argument."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {
            str(name): materializer_sources(value, objects, owner) for name, value in spec.items()
        }
    return {"*": materializer_sources(spec, objects, owner)}


def _coerce(value: Any, model: type, field: str, owner: str) -> Any:
    if value is None or isinstance(value, model):
        return value
    try:
        return model.model_validate(value)  # type: ignore[attr-defined]
    except ValidationError as exc:
        problems = "; ".join(validation_problems(exc))
        raise ConfigurationError(f"{owner}: invalid {field}: {problems}.") from exc


# How each kind of hook is called (execution/hooks.py): (positional args, keyword args).
_HOOK_CALLS: dict[str, str] = {
    "on_success": "with no arguments",
    "on_cleanup": "with no arguments",
    "on_failure": "with no arguments or with the step's exception",
    "on_init": "with the on_init_kwargs as keyword arguments",
}


def check_hook_signature(
    hook: Any, kind: str, owner: str, init_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Refuse, at definition, a hook that cannot be called the way ``kind`` hooks are.

    Hooks given as ``"module.function"`` strings are checked when they are imported.

    Raises:
        DefinitionError: naming the hook, the step or pipeline, and how it is called.
    """
    if isinstance(hook, str) or not callable(hook):
        return
    import inspect

    try:
        signature = inspect.signature(hook)
    except (TypeError, ValueError):
        return  # a builtin without a readable signature: nothing to check
    attempts: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((), {})]
    if kind == "on_failure":
        attempts.append(((Exception(),), {}))
    elif kind == "on_init":
        attempts = [((), dict(init_kwargs or {}))]
    for args, kwargs in attempts:
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            continue
        return
    name = getattr(hook, "__name__", repr(hook))
    parameters = ", ".join(
        str(p.replace(annotation=p.empty)) for p in signature.parameters.values()
    )
    raise DefinitionError(
        f"{owner}: the {kind} hook {name}({parameters}) cannot be called {_HOOK_CALLS[kind]}, "
        f"which is how {kind} hooks are called."
    )


def _common_values(options: dict[str, Any], objects: dict[str, Any], owner: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key in _HOOK_FIELDS:
            if value is not None:
                check_hook_signature(value, key, owner, options.get("init_hook_kwargs"))
            values[_HOOK_FIELDS[key]] = (
                None if value is None else register_object(value, objects, what=f"{owner}: {key}")
            )
        elif key == "retry":
            values[key] = _coerce(value, StepRetryConfig, key, owner)
        elif key == "cache_policy":
            values[key] = _coerce(value, CachePolicy, key, owner)
        elif key == "model":
            values[key] = _coerce(value, Model, key, owner)
        elif key == "execution_mode" and isinstance(value, str):
            try:
                values[key] = ExecutionMode(value.lower())
            except ValueError as exc:
                choices = ", ".join(m.value for m in ExecutionMode)
                raise ConfigurationError(
                    f"{owner}: execution_mode {value!r} is not one of {choices}."
                ) from exc
        else:
            values[key] = value
    return values


def step_configuration(
    options: dict[str, Any], objects: dict[str, Any], owner: str
) -> StepConfiguration:
    """Validate step options into a ``StepConfiguration`` holding only what was given."""
    values = _common_values({k: v for k, v in options.items() if v is not None}, objects, owner)
    return _validated(StepConfiguration, values, owner)


def pipeline_configuration(
    options: dict[str, Any], objects: dict[str, Any], owner: str
) -> PipelineConfiguration:
    """Validate pipeline options into a ``PipelineConfiguration`` holding only what was given."""
    values = _common_values({k: v for k, v in options.items() if v is not None}, objects, owner)
    return _validated(PipelineConfiguration, values, owner)


def user_option_names(fields: Any) -> list[str]:
    """Option names as the user writes them: hooks as ``on_*``, not their source fields."""
    sources = {source: hook for hook, source in _HOOK_FIELDS.items()}
    names = [sources.get(name, name) for name in fields]
    if "outputs" in fields:  # a step
        names.append("output_materializers")
    return names


def _validated(model: type, values: dict[str, Any], owner: str) -> Any:
    fields = model.model_fields  # type: ignore[attr-defined]
    for key in values:
        if key not in fields:
            valid = user_option_names(fields)
            raise ConfigurationError(f"{owner}: {unknown_key_message('option', key, valid)}.")
    try:
        return model.model_validate(values)  # type: ignore[attr-defined]
    except ValidationError as exc:
        details = "; ".join(validation_problems(exc))
        raise ConfigurationError(f"{owner}: invalid option value ({details}).") from exc
