"""Snapshots: immutable, stored pipeline specs; named ones can be run by others."""

import copy
from typing import Any

from pydantic import Field

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import PipelineSpec
from headrace.config.step_configurations import StepConfiguration
from headrace.enums import AccountRole
from headrace.models.base import RequestModel, ResponseModel
from headrace.utils.factories import new_dict, new_list


class SnapshotRequest(RequestModel):
    """A snapshot to store; unnamed ones are deduplicated by spec hash."""

    id: str
    name: str | None = None
    description: str | None = None
    pipeline_id: str
    stack_id: str
    spec: PipelineSpec
    spec_hash: str
    runnable: bool = False
    extra: dict[str, Any] = Field(default_factory=new_dict)
    allowed_users: list[str] = Field(default_factory=new_list)
    allowed_roles: list[AccountRole] = Field(default_factory=new_list)


class SnapshotUpdate(RequestModel):
    """Who may run a snapshot on a server; ``None`` leaves a list as it is.

    Both lists empty: every account whose role may run snapshots (editors, admins).
    Otherwise only accounts named in ``allowed_users`` or holding a role in
    ``allowed_roles`` (and admins, who can change the lists anyway).
    """

    allowed_users: list[str] | None = None
    allowed_roles: list[AccountRole] | None = None


class SnapshotResponse(ResponseModel):
    """A stored snapshot."""

    name: str | None = None
    description: str | None = None
    pipeline_id: str
    pipeline_name: str | None = None
    stack_id: str
    spec: PipelineSpec
    spec_hash: str
    runnable: bool = False
    extra: dict[str, Any] = Field(default_factory=new_dict)
    allowed_users: list[str] = Field(default_factory=new_list)
    allowed_roles: list[AccountRole] = Field(default_factory=new_list)

    @property
    def restricted(self) -> bool:
        """Whether running is limited to named users or roles."""
        return bool(self.allowed_users or self.allowed_roles)

    @property
    def config_template(self) -> PipelineRunConfiguration:
        """A fresh, editable run configuration with the pipeline's parameters and every
        step parameter's current value.

        Each access returns a new object, so editing one never changes the snapshot.
        """
        steps = {
            name: StepConfiguration(parameters=copy.deepcopy(step.parameters))
            for name, step in self.spec.steps.items()
        }
        if not self.spec.parameters:
            return PipelineRunConfiguration(steps=steps)
        return PipelineRunConfiguration(parameters=copy.deepcopy(self.spec.parameters), steps=steps)

    @property
    def parameter_schema(self) -> dict[str, Any]:
        """JSON Schema of the pipeline's and each step's parameters."""
        return dict(self.extra.get("parameter_schema", {}))

    @property
    def code_digest(self) -> str | None:
        """Content hash of the snapshot's code archive."""
        code = self.extra.get("code") or {}
        return code.get("digest")

    @property
    def environment(self) -> dict[str, Any]:
        """Python, headrace and package versions and the image specification."""
        return dict(self.extra.get("environment", {}))

    @property
    def image(self) -> dict[str, Any]:
        """The container image: tag, context digest, Dockerfile, engine, and whether it was
        built, reused or pushed (``message`` says why not, when it was not)."""
        return dict(self.extra.get("image") or {})

    @property
    def runs(self) -> list[Any]:
        """Runs made from this snapshot, newest first."""
        from headrace.models.filters import PipelineRunFilter

        return self.store.list_runs(
            PipelineRunFilter(snapshot_id=self.id, size=10_000, sort_by="desc:created")
        ).items
