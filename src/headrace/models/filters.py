"""Filter models for list calls: paging, sorting and the fields one can filter on.

String filter fields take an operator prefix: ``name="contains:train"``,
``created="gte:2026-01-01T00:00:00"``, ``status="in:running,failed"``; a value without
one is compared for equality. ``logical_operator="or"`` keeps rows matching any field
filter instead of all of them.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headrace.enums import ExecutionStatus, ModelStages

FILTER_OPERATORS = frozenset(
    {
        "equals",
        "notequals",
        "contains",
        "startswith",
        "endswith",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
    }
)


def split_operator(value: str) -> tuple[str, str]:
    """``("contains", "x")`` for ``"contains:x"``; ``("equals", value)`` without a prefix."""
    operator, sep, rest = value.partition(":")
    if sep and operator in FILTER_OPERATORS:
        return operator, rest
    return "equals", value


class BaseFilter(BaseModel):
    """Paging and sorting shared by every list call.

    ``sort_by`` is ``asc:field`` or ``desc:field``.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1, le=10_000)
    sort_by: str = Field(default="desc:created", max_length=100)
    logical_operator: Literal["and", "or"] = "and"
    id: str | None = None
    name: str | None = None
    created: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class PipelineFilter(BaseFilter):
    """Filter pipelines."""

    tag: str | None = None


class PipelineRunFilter(BaseFilter):
    """Filter pipeline runs."""

    pipeline_id: str | None = None
    pipeline_name: str | None = None
    snapshot_id: str | None = None
    triggered_by_step_run_id: str | None = None
    triggered_by_run_id: str | None = None  # started by any step of this run
    status: ExecutionStatus | str | None = None
    include_unlisted: bool = True
    unlisted: bool | None = None  # True: only unlisted runs (single steps); False: only listed
    tag: str | None = None
    model_version_id: str | None = None

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, value: ExecutionStatus | str | None) -> ExecutionStatus | str | None:
        if not isinstance(value, str) or isinstance(value, ExecutionStatus):
            return value
        operator, text = split_operator(value)
        items = text.split(",") if operator == "in" else [text]
        allowed = {status.value for status in ExecutionStatus}
        unknown = [item.strip() for item in items if item.strip() not in allowed]
        if unknown:
            raise ValueError(
                f"unknown status {', '.join(unknown)}; statuses: {', '.join(sorted(allowed))}"
            )
        return ExecutionStatus(text) if operator == "equals" else value


class SnapshotFilter(BaseFilter):
    """Filter snapshots; by default only named ones."""

    pipeline_id: str | None = None
    named_only: bool = True


class ScheduleFilter(BaseFilter):
    """Filter schedules (``active=false``: the paused ones)."""

    pipeline_id: str | None = None
    snapshot_id: str | None = None
    active: bool | None = None


class ArtifactVersionFilter(BaseFilter):
    """Filter artifact versions."""

    artifact_id: str | None = None
    artifact_name: str | None = None
    producer_step_run_id: str | None = None
    data_type: str | None = None
    tag: str | None = None  # on the version or on its artifact
    model_version_id: str | None = None


class ModelFilter(BaseFilter):
    """Filter models."""

    tag: str | None = None


class ModelVersionFilter(BaseFilter):
    """Filter model versions; ``sort_by`` may also be ``asc:number``."""

    model_id: str | None = None
    model_name: str | None = None
    stage: ModelStages | None = None
    tag: str | None = None
    pipeline_run_id: str | None = None  # versions linked to this run
    artifact_version_id: str | None = None  # versions linked to this artifact version
