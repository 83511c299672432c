"""Which parts of a step enter its cache key, and when a cached result expires."""

from pydantic import Field

from headrace.config.base import ConfigModel
from headrace.utils.factories import new_list


class CachePolicy(ConfigModel):
    """Controls a step's cache key and the age of cache hits.

    By default the key covers the step's code (and the project-local code it reaches),
    its parameters, the content of its input artifacts, its output names and
    materializers, and the configuration that changes its result. Artifact *ids* are
    off by default: an upstream step that re-ran and produced equal bytes should not
    invalidate everything downstream.
    """

    include_step_code: bool = True
    include_step_parameters: bool = True
    include_artifact_values: bool = True
    include_artifact_ids: bool = False
    ignored_inputs: list[str] = Field(default_factory=new_list)
    ignore_fields: list[str] = Field(default_factory=new_list)
    max_age_days: float | None = Field(default=None, gt=0)
    expires_after: int | None = Field(default=None, gt=0, description="Seconds.")
    source_dependencies: list[str] = Field(default_factory=new_list)
    file_dependencies: list[str] = Field(default_factory=new_list)

    @property
    def max_age_seconds(self) -> float | None:
        """The oldest a cache hit may be, in seconds, or ``None`` for no limit."""
        ages = [a for a in (self.expires_after, (self.max_age_days or 0) * 86400) if a]
        return float(min(ages)) if ages else None
