"""Query-string models of the list routes: a store filter plus ``hydrate``.

FastAPI reads each of these from the query string (``Annotated[Model, Query()]``), so
an unknown parameter or a value of the wrong type answers 422 naming the parameter.
"""

from typing import TypeVar

from pydantic import ConfigDict

from headrace.models import (
    ArtifactVersionFilter,
    ModelFilter,
    ModelVersionFilter,
    PipelineFilter,
    PipelineRunFilter,
    ScheduleFilter,
    SnapshotFilter,
    StackComponentFilter,
    StackFilter,
)
from headrace.models.filters import BaseFilter

F = TypeVar("F", bound=BaseFilter)


class _Hydrate(BaseFilter):
    model_config = ConfigDict(extra="forbid")

    # Accepted for compatibility; responses always carry every field.
    hydrate: bool = True


class PipelineQuery(PipelineFilter, _Hydrate):
    """``GET /api/v1/pipelines``."""


class SnapshotQuery(SnapshotFilter, _Hydrate):
    """``GET /api/v1/pipeline_snapshots``."""


class ScheduleQuery(ScheduleFilter, _Hydrate):
    """``GET /api/v1/schedules``."""


class RunQuery(PipelineRunFilter, _Hydrate):
    """``GET /api/v1/runs``."""


class ArtifactVersionQuery(ArtifactVersionFilter, _Hydrate):
    """``GET /api/v1/artifact_versions``."""


class ModelQuery(ModelFilter, _Hydrate):
    """``GET /api/v1/models``."""


class ModelVersionQuery(ModelVersionFilter, _Hydrate):
    """``GET /api/v1/model_versions``."""


class StackQuery(StackFilter, _Hydrate):
    """``GET /api/v1/stacks``."""


class ComponentQuery(StackComponentFilter, _Hydrate):
    """``GET /api/v1/components``."""


def to_filter(query: BaseFilter, kind: type[F]) -> F:
    """The store filter of a query model (without ``hydrate``)."""
    return kind.model_validate(query.model_dump(exclude={"hydrate"}, exclude_unset=True))
