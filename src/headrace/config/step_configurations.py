"""Configuration of one step: what the decorator, ``configure`` and YAML may set."""

from typing import Any

from pydantic import Field, field_validator

from headrace.config.base import ConfigModel
from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.retry_config import StepRetryConfig
from headrace.config.settings import validate_settings
from headrace.utils.factories import new_dict, new_list


def _stringify_environment(value: dict[str, Any] | None) -> dict[str, str]:
    if not value:
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"environment variable names must be non-empty strings, got {key!r}")
        if isinstance(item, bool):
            item = str(item).lower()
        if not isinstance(item, str | int | float):
            raise ValueError(f"environment[{key!r}] must be a string, got {type(item).__name__}")
        out[key] = str(item)
    return out


class ArtifactConfiguration(ConfigModel):
    """Per-output configuration: which materializer(s) to use, and the artifact's name."""

    materializer_source: list[str] | None = None
    artifact_name: str | None = None

    @field_validator("materializer_source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class StepConfiguration(ConfigModel):
    """Every option of a step; ``None`` means "not set here, inherit from the pipeline"."""

    name: str | None = None
    enable_cache: bool | None = None
    enable_artifact_metadata: bool | None = None
    enable_artifact_visualization: bool | None = None
    enable_step_logs: bool | None = None
    step_operator: str | None = None
    experiment_tracker: str | None = None
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    settings: dict[str, Any] = Field(default_factory=new_dict)
    extra: dict[str, Any] = Field(default_factory=new_dict)
    failure_hook_source: str | None = None
    success_hook_source: str | None = None
    model: Model | None = None
    retry: StepRetryConfig | None = None
    substitutions: dict[str, str] = Field(default_factory=new_dict)
    cache_policy: CachePolicy | None = None
    environment: dict[str, str] = Field(default_factory=new_dict)
    secrets: list[str] = Field(default_factory=new_list)
    outputs: dict[str, ArtifactConfiguration] = Field(default_factory=new_dict)

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: Any) -> dict[str, Any]:
        return validate_settings(value, owner="step")

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> dict[str, str]:
        return _stringify_environment(value)


# The run configuration's ``steps:`` entries use the same shape.
StepConfigurationUpdate = StepConfiguration
