"""Configuration models: everything a step, pipeline or run can be configured with."""

from headrace.config.cache_policy import CachePolicy
from headrace.config.docker_settings import DockerSettings
from headrace.config.model import Model
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.resource_settings import ResourceSettings
from headrace.config.retry_config import StepRetryConfig
from headrace.config.schedule import Schedule

__all__ = [
    "CachePolicy",
    "DockerSettings",
    "Model",
    "PipelineRunConfiguration",
    "ResourceSettings",
    "Schedule",
    "StepRetryConfig",
]
