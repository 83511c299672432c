"""Turn decorator keyword options into configuration models.

Callables (hooks, materializers) are recorded by source so specs stay JSON; the live
objects are kept beside the spec so in-process runs can use local functions too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.retry_config import StepRetryConfig
from headrace.config.source import source_of
from headrace.config.step_configurations import StepConfiguration
from headrace.enums import ExecutionMode
from headrace.exceptions import ConfigurationError, DefinitionError

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
        raise ConfigurationError(f"{owner}: invalid {field}: {exc}") from exc


def _common_values(options: dict[str, Any], objects: dict[str, Any], owner: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key in _HOOK_FIELDS:
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


def _validated(model: type, values: dict[str, Any], owner: str) -> Any:
    unknown = sorted(set(values) - set(model.model_fields))  # type: ignore[attr-defined]
    if unknown:
        raise ConfigurationError(f"{owner}: unknown option(s) {', '.join(map(repr, unknown))}.")
    try:
        return model.model_validate(values)  # type: ignore[attr-defined]
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"{owner}: invalid option value ({details}).") from exc
