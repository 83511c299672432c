"""The options a step actually runs with: its own, else its pipeline's, else the default."""

from __future__ import annotations

from headrace.config.cache_policy import CachePolicy
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.retry_config import StepRetryConfig
from headrace.config.step_configurations import StepConfiguration
from headrace.utils.records import FrozenRecord

_DEFAULT_CACHE_POLICY = CachePolicy.empty()


class EffectiveStepConfig(FrozenRecord):
    """Resolved step options (step over pipeline over default)."""

    __slots__ = (
        "cache_policy",
        "enable_artifact_metadata",
        "enable_artifact_visualization",
        "enable_cache",
        "enable_step_logs",
        "environment",
        "failure_hook_source",
        "retry",
        "secrets",
        "success_hook_source",
    )
    enable_cache: bool
    enable_artifact_metadata: bool
    enable_step_logs: bool
    cache_policy: CachePolicy
    retry: StepRetryConfig | None
    failure_hook_source: str | None
    success_hook_source: str | None
    environment: dict[str, str]
    secrets: tuple[str, ...]
    enable_artifact_visualization: bool

    def __init__(
        self,
        enable_cache: bool,
        enable_artifact_metadata: bool,
        enable_step_logs: bool,
        cache_policy: CachePolicy,
        retry: StepRetryConfig | None,
        failure_hook_source: str | None,
        success_hook_source: str | None,
        environment: dict[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        enable_artifact_visualization: bool = True,
    ) -> None:
        self._init(
            enable_cache=enable_cache,
            enable_artifact_metadata=enable_artifact_metadata,
            enable_step_logs=enable_step_logs,
            cache_policy=cache_policy,
            retry=retry,
            failure_hook_source=failure_hook_source,
            success_hook_source=success_hook_source,
            environment={} if environment is None else environment,
            secrets=secrets,
            enable_artifact_visualization=enable_artifact_visualization,
        )


def _first(*values: bool | None, default: bool) -> bool:
    for value in values:
        if value is not None:
            return value
    return default


def effective_step_config(
    pipeline: PipelineConfiguration, step: StepConfiguration
) -> EffectiveStepConfig:
    """Resolve a step's options against its pipeline's."""
    return EffectiveStepConfig(
        enable_cache=_first(step.enable_cache, pipeline.enable_cache, default=True),
        enable_artifact_metadata=_first(
            step.enable_artifact_metadata, pipeline.enable_artifact_metadata, default=True
        ),
        enable_step_logs=_first(step.enable_step_logs, pipeline.enable_step_logs, default=True),
        cache_policy=step.cache_policy or pipeline.cache_policy or _DEFAULT_CACHE_POLICY,
        retry=step.retry or pipeline.retry,
        failure_hook_source=step.failure_hook_source or pipeline.failure_hook_source,
        success_hook_source=step.success_hook_source or pipeline.success_hook_source,
        environment={**pipeline.environment, **step.environment},
        secrets=tuple(dict.fromkeys([*pipeline.secrets, *step.secrets])),
        enable_artifact_visualization=_first(
            step.enable_artifact_visualization,
            pipeline.enable_artifact_visualization,
            default=True,
        ),
    )
