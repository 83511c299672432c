"""Pipelines: the named thing that runs and snapshots belong to."""

from typing import TYPE_CHECKING

from pydantic import Field

from headrace.models.base import ResponseModel
from headrace.utils.factories import new_list

if TYPE_CHECKING:
    from headrace.models.run import PipelineRunResponse


class PipelineResponse(ResponseModel):
    """A pipeline, by name."""

    name: str
    docstring: str | None = None
    tags: list[str] = Field(default_factory=new_list)

    @property
    def runs(self) -> "list[PipelineRunResponse]":
        """Runs of this pipeline, newest first."""
        from headrace.models.filters import PipelineRunFilter

        return self.store.list_runs(
            PipelineRunFilter(pipeline_id=self.id, size=10_000, sort_by="desc:created")
        ).items

    @property
    def last_run(self) -> "PipelineRunResponse":
        """The newest run of this pipeline."""
        from headrace.exceptions import EntityNotFoundError
        from headrace.models.filters import PipelineRunFilter

        page = self.store.list_runs(
            PipelineRunFilter(pipeline_id=self.id, size=1, sort_by="desc:created")
        )
        if not page.items:
            raise EntityNotFoundError(f"Pipeline {self.name!r} has no runs yet.")
        return page.items[0]

    @property
    def last_successful_run(self) -> "PipelineRunResponse":
        """The newest completed run of this pipeline."""
        from headrace.enums import ExecutionStatus
        from headrace.exceptions import EntityNotFoundError
        from headrace.models.filters import PipelineRunFilter

        page = self.store.list_runs(
            PipelineRunFilter(
                pipeline_id=self.id,
                status=ExecutionStatus.COMPLETED,
                size=1,
                sort_by="desc:created",
            )
        )
        if not page.items:
            raise EntityNotFoundError(f"Pipeline {self.name!r} has no successful run yet.")
        return page.items[0]

    @property
    def num_runs(self) -> int:
        """How many runs this pipeline has."""
        from headrace.models.filters import PipelineRunFilter

        return self.store.list_runs(PipelineRunFilter(pipeline_id=self.id, size=1)).total
