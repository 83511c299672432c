"""Validation of ``settings={...}``: known keys get their model, unknown keys are errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from headrace.exceptions import ConfigurationError
from headrace.utils.suggest import did_you_mean

COMPONENT_KEYS = frozenset(
    {"orchestrator", "artifact_store", "step_operator", "experiment_tracker", "alerter"}
)


def _settings_models() -> dict[str, type[BaseModel]]:
    from headrace.config.docker_settings import DockerSettings
    from headrace.config.resource_settings import ResourceSettings

    return {"docker": DockerSettings, "resources": ResourceSettings}


def validate_settings(settings: dict[str, Any] | None, *, owner: str) -> dict[str, dict[str, Any]]:
    """Check a settings mapping and return it as plain JSON-ready dictionaries.

    Keys are ``docker``, ``resources`` or ``<component>[.<flavor>]`` for a stack component
    (``orchestrator``, ``orchestrator.local``, ...). ``owner`` names the step or pipeline.

    Raises:
        ConfigurationError: an unknown key or an invalid value, naming both.
    """
    if not settings:
        return {}
    if not isinstance(settings, dict):
        raise ConfigurationError(
            f"{owner}: settings must be a mapping, got {type(settings).__name__}."
        )
    models = _settings_models()
    result: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        model = models.get(key)
        if model is not None:
            try:
                obj = value if isinstance(value, model) else model.model_validate(value)
            except ValidationError as exc:
                from headrace.config.base import validation_problems

                problems = "; ".join(validation_problems(exc))
                raise ConfigurationError(
                    f"{owner}: invalid settings[{key!r}]: {problems}."
                ) from exc
            result[key] = obj.model_dump(mode="json", exclude_unset=True)
            continue
        if key.split(".", 1)[0] not in COMPONENT_KEYS:
            known = sorted({*models, *COMPONENT_KEYS})
            hint = did_you_mean(key.split(".", 1)[0], known)
            raise ConfigurationError(
                f"{owner}: unknown settings key {key!r}{hint}; expected one of "
                f"{', '.join(known)} (component keys may carry a flavor, e.g. "
                "'orchestrator.local')."
            )
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", exclude_unset=True)
        if not isinstance(value, dict):
            raise ConfigurationError(f"{owner}: settings[{key!r}] must be a mapping.")
        from headrace.stacks.settings import check_component_settings

        check_component_settings(key, value, owner=owner)
        result[key] = dict(value)
    return result
