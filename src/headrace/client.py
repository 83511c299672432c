"""``Client``: the Python entry point to everything in the store.

A thin facade over the ``Store`` interface: it picks the store (the one of the running
step when called inside a step, else the configured one) and offers the seeds' method
names with keyword filters.
"""

from __future__ import annotations

from typing import Any

from headrace.enums import ExecutionStatus
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionResponse,
    Page,
    PipelineFilter,
    PipelineResponse,
    PipelineRunFilter,
    PipelineRunResponse,
    StackResponse,
    StepRunResponse,
)
from headrace.store.base import Store
from headrace.store.factory import active_store


class Client:
    """Read and manage pipelines, runs, artifacts and snapshots.

    Args:
        store: the store to use; by default the running step's store inside a step,
            else the store ``HEADRACE_STORE_URL`` or the repository points to.
    """

    def __init__(self, store: Store | None = None) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        """The store this client talks to."""
        if self._store is None:
            self._store = active_store()
        return self._store

    @property
    def active_stack(self) -> StackResponse:
        """The stack runs use."""
        return self.store.get_default_stack()

    # -- pipelines ----------------------------------------------------------------------
    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        """A pipeline by name or id."""
        return self.store.get_pipeline(str(name_or_id))

    def list_pipelines(self, **filters: Any) -> Page[PipelineResponse]:
        """Pipelines (filters: ``name``, ``page``, ``size``, ``sort_by``, ...)."""
        return self.store.list_pipelines(PipelineFilter(**filters))

    # -- runs ---------------------------------------------------------------------------
    def get_pipeline_run(self, name_id_or_prefix: str) -> PipelineRunResponse:
        """A pipeline run by name, id or unique id prefix."""
        return self.store.get_run(str(name_id_or_prefix))

    def list_pipeline_runs(self, **filters: Any) -> Page[PipelineRunResponse]:
        """Pipeline runs, newest first (filters: ``pipeline_id``, ``pipeline_name``,
        ``status``, ``name``, ``page``, ``size``, ``sort_by``, ...)."""
        if isinstance(filters.get("status"), str):
            filters["status"] = ExecutionStatus(filters["status"])
        return self.store.list_runs(PipelineRunFilter(**filters))

    def get_run_step(self, step_run_id: str) -> StepRunResponse:
        """A step run by id."""
        return self.store.get_step_run(str(step_run_id))

    # -- artifacts ----------------------------------------------------------------------
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        """A named artifact."""
        return self.store.get_artifact(str(name_or_id))

    def get_artifact_version(
        self, name_id_or_prefix: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        """An artifact version by id, or by artifact name and version (latest if omitted)."""
        return self.store.get_artifact_version(str(name_id_or_prefix), version)

    def list_artifact_versions(self, **filters: Any) -> Page[ArtifactVersionResponse]:
        """Artifact versions (filters: ``artifact_name``, ``artifact_id``, ``data_type``, ...)."""
        return self.store.list_artifact_versions(ArtifactVersionFilter(**filters))
