"""Which orchestrator a run uses: the stack's orchestrator flavor, configured by settings.

``build_orchestrator`` is the only place that turns a stack and a pipeline's settings
into an orchestrator; the launcher never branches on a flavor name. The flavor's
configuration is its pydantic model: the stack component's values, overridden by the
pipeline settings under ``orchestrator`` and ``orchestrator.<flavor>``; unknown keys are
refused. (Once stacks and components are records of their own, the flavor registry in
``headrace.stacks`` supplies the configuration models and implementations.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from headrace.exceptions import ConfigurationError
from headrace.execution.orchestrators.ray import RayOrchestratorConfig

if TYPE_CHECKING:
    from headrace.execution.orchestrators.base import BaseOrchestrator
    from headrace.models.stack import StackResponse


class LocalOrchestratorSettings(BaseModel):
    """Configuration of the ``local`` flavor (threads, or processes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_parallelism: int | None = Field(default=None, ge=1)
    processes: bool = False
    synchronous: bool | None = None


# flavor -> (configuration model, implementation as ``module.Class``, imported lazily)
_FLAVORS: dict[str, tuple[type[BaseModel], str]] = {
    "local": (
        LocalOrchestratorSettings,
        "headrace.execution.orchestrators.local.LocalOrchestrator",
    ),
    # The configuration model lives with the implementation until headrace.stacks owns
    # the flavor table; importing it does not import Ray.
    "ray": (
        RayOrchestratorConfig,
        "headrace.execution.orchestrators.ray.RayOrchestrator",
    ),
}


def orchestrator_flavors() -> list[str]:
    """The orchestrator flavors this registry knows."""
    return sorted(_FLAVORS)


def orchestrator_configuration(
    stack: StackResponse, settings: dict[str, Any]
) -> tuple[str, BaseModel]:
    """The stack's orchestrator flavor and its validated configuration.

    Raises:
        ConfigurationError: an unknown flavor, or a key its configuration does not have.
    """
    flavor = stack.orchestrator_flavor
    entry = _FLAVORS.get(flavor)
    if entry is None:
        raise ConfigurationError(
            f"Stack {stack.name!r} uses orchestrator flavor {flavor!r}, which is not "
            f"available; known flavors: {', '.join(orchestrator_flavors())}."
        )
    config_class = entry[0]
    values = {
        k: v
        for k, v in stack.components.get("orchestrator", {}).items()
        if k in config_class.model_fields
    }
    for key in ("orchestrator", f"orchestrator.{flavor}"):
        section = settings.get(key) or {}
        unknown = sorted(set(section) - set(config_class.model_fields))
        if unknown:
            raise ConfigurationError(
                f"Settings {key!r}: unknown key(s) {', '.join(map(repr, unknown))} for "
                f"orchestrator flavor {flavor!r}; allowed: "
                f"{', '.join(sorted(config_class.model_fields))}."
            )
        values.update(section)
    try:
        return flavor, config_class.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(
            f"Orchestrator settings for flavor {flavor!r} are invalid: {problems}."
        ) from exc


def build_orchestrator(stack: StackResponse, settings: dict[str, Any]) -> BaseOrchestrator:
    """The orchestrator of ``stack``, configured by a pipeline's ``settings``."""
    flavor, config = orchestrator_configuration(stack, settings)
    module_name, _, class_name = _FLAVORS[flavor][1].rpartition(".")
    implementation = getattr(importlib.import_module(module_name), class_name)
    orchestrator: BaseOrchestrator = implementation(config)
    return orchestrator
