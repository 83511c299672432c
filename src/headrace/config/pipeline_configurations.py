"""Configuration of a pipeline: decorator options, ``configure`` and YAML, merged in order."""

from typing import Any

from pydantic import Field, field_validator

from headrace.config.base import ConfigModel
from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.retry_config import StepRetryConfig
from headrace.config.settings import validate_settings
from headrace.config.step_configurations import _stringify_environment
from headrace.enums import ExecutionMode
from headrace.utils.factories import new_dict, new_list


class PipelineConfiguration(ConfigModel):
    """Every pipeline-level option; ``None`` means "use the default"."""

    name: str | None = None
    enable_cache: bool | None = None
    enable_artifact_metadata: bool | None = None
    enable_artifact_visualization: bool | None = None
    enable_step_logs: bool | None = None
    enable_pipeline_logs: bool | None = None
    settings: dict[str, Any] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    extra: dict[str, Any] = Field(default_factory=new_dict)
    failure_hook_source: str | None = None
    success_hook_source: str | None = None
    init_hook_source: str | None = None
    init_hook_kwargs: dict[str, Any] = Field(default_factory=new_dict)
    cleanup_hook_source: str | None = None
    model: Model | None = None
    retry: StepRetryConfig | None = None
    substitutions: dict[str, str] = Field(default_factory=new_dict)
    execution_mode: ExecutionMode | None = None
    cache_policy: CachePolicy | None = None
    environment: dict[str, str] = Field(default_factory=new_dict)
    secrets: list[str] = Field(default_factory=new_list)
    dynamic: bool = False

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: Any) -> dict[str, Any]:
        return validate_settings(value, owner="pipeline")

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> dict[str, str]:
        return _stringify_environment(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
