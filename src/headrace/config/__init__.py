"""Configuration models: everything a step, pipeline or run can be configured with.

The names below are loaded on first access (module ``__getattr__``): ``import headrace``
imports this package, and a plain run never needs ``DockerSettings`` or
``ResourceSettings``, whose pydantic classes cost milliseconds to define.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.utils.lazy import lazy_attributes

if TYPE_CHECKING:
    from headrace.config.cache_policy import CachePolicy
    from headrace.config.docker_settings import DockerSettings
    from headrace.config.model import Model
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
    from headrace.config.resource_settings import ResourceSettings
    from headrace.config.retry_config import StepRetryConfig
    from headrace.config.schedule import Schedule

# Public name -> the submodule that defines it.
_LAZY = {
    "CachePolicy": "cache_policy",
    "DockerSettings": "docker_settings",
    "Model": "model",
    "PipelineRunConfiguration": "pipeline_run_configuration",
    "ResourceSettings": "resource_settings",
    "Schedule": "schedule",
    "StepRetryConfig": "retry_config",
}


_load = lazy_attributes(__name__, _LAZY)


def __getattr__(name: str) -> Any:  # a def, so type checkers see lazily loaded names
    return _load(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CachePolicy",
    "DockerSettings",
    "Model",
    "PipelineRunConfiguration",
    "ResourceSettings",
    "Schedule",
    "StepRetryConfig",
]
