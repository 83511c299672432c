"""``PipelineRunConfiguration``: everything a single run may set, from code, YAML or REST."""

from collections.abc import Iterator
from typing import Any

from pydantic import Field, field_validator

from headrace.config.base import ConfigModel
from headrace.config.cache_policy import CachePolicy
from headrace.config.model import Model
from headrace.config.retry_config import StepRetryConfig
from headrace.config.schedule import Schedule
from headrace.config.settings import validate_settings
from headrace.config.step_configurations import StepConfiguration, _stringify_environment
from headrace.enums import ExecutionMode
from headrace.utils.factories import new_dict, new_list


class PipelineRunConfiguration(ConfigModel):
    """Options of one pipeline run.

    It behaves as a mapping of the fields that were set, so seed-style code works:
    ``my_pipeline.with_options(**run_config)``.
    """

    run_name: str | None = None
    enable_cache: bool | None = None
    enable_artifact_metadata: bool | None = None
    enable_artifact_visualization: bool | None = None
    enable_step_logs: bool | None = None
    enable_pipeline_logs: bool | None = None
    schedule: Schedule | None = None
    build: str | None = None
    steps: dict[str, StepConfiguration] = Field(default_factory=new_dict)
    settings: dict[str, Any] = Field(default_factory=new_dict)
    tags: list[str] = Field(default_factory=new_list)
    extra: dict[str, Any] = Field(default_factory=new_dict)
    model: Model | None = None
    parameters: dict[str, Any] = Field(default_factory=new_dict)
    retry: StepRetryConfig | None = None
    failure_hook_source: str | None = None
    success_hook_source: str | None = None
    substitutions: dict[str, str] = Field(default_factory=new_dict)
    execution_mode: ExecutionMode | None = None
    cache_policy: CachePolicy | None = None
    environment: dict[str, str] = Field(default_factory=new_dict)
    secrets: list[str] = Field(default_factory=new_list)
    synchronous: bool | None = None

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: Any) -> dict[str, Any]:
        return validate_settings(value, owner="run configuration")

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> dict[str, str]:
        return _stringify_environment(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    # Mapping protocol over the explicitly set fields, for ``**run_config``.
    def keys(self) -> list[str]:
        """Names of the fields that were set explicitly."""
        return sorted(self.model_fields_set)

    def __getitem__(self, key: str) -> Any:
        if key not in self.model_fields_set:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        # Mapping iteration (keys); pydantic's field iteration is still model_dump().
        return iter(self.keys())
