"""Models of the Model Control Plane: a named model and its numbered, stageable versions."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, model_validator

from headrace.enums import ArtifactType, ModelStages
from headrace.metadata.metadata_types import decode_metadata
from headrace.models.base import RequestModel, ResponseModel
from headrace.utils.factories import new_dict, new_list

if TYPE_CHECKING:
    from headrace.models.artifact import ArtifactVersionResponse
    from headrace.models.run import PipelineRunResponse

# Stages a version can be put in; ``latest`` only names the newest version when reading.
PROMOTABLE_STAGES = frozenset(
    {ModelStages.STAGING, ModelStages.PRODUCTION, ModelStages.ARCHIVED, ModelStages.NONE}
)


class ModelVersionRequest(RequestModel):
    """Which version of a model a run works on; created when it does not exist yet.

    ``version``: ``None`` creates the next numbered version; a number (or digit string)
    names an existing version by number; a stage name (``latest``, ``staging``,
    ``production``, ``archived``) the version in that stage; any other string a version
    by name, created when missing. The remaining fields describe a model created here.
    """

    model_name: str = Field(min_length=1, max_length=255)
    version: str | int | None = None
    description: str | None = None
    license: str | None = None
    audience: str | None = None
    use_cases: str | None = None
    limitations: str | None = None
    trade_offs: str | None = None
    ethics: str | None = None
    tags: list[str] = Field(default_factory=new_list)
    pipeline_run_id: str | None = None  # link this run to the version
    run_model: bool = False  # and record the version as the run's model version


class ModelVersionUpdate(RequestModel):
    """Changes to a model version; ``force`` moves a stage away from its current holder."""

    stage: ModelStages | None = None
    force: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None


class ModelResponse(ResponseModel):
    """A model: the thing that has versions."""

    name: str
    description: str | None = None
    license: str | None = None
    audience: str | None = None
    use_cases: str | None = None
    limitations: str | None = None
    trade_offs: str | None = None
    ethics: str | None = None
    tags: list[str] = Field(default_factory=new_list)
    latest_version_number: int = 0

    @property
    def versions(self) -> "list[ModelVersionResponse]":
        """Every version, oldest first."""
        from headrace.models.filters import ModelVersionFilter

        return self.store.list_model_versions(
            ModelVersionFilter(model_id=self.id, size=10_000, sort_by="asc:number")
        ).items

    @property
    def latest_version(self) -> "ModelVersionResponse":
        """The newest version."""
        return self.store.get_model_version(self.id, ModelStages.LATEST.value)


class ModelVersionResponse(ResponseModel):
    """One version of a model, with the runs and artifacts linked to it."""

    model_id: str
    model_name: str
    name: str
    number: int
    stage: ModelStages | None = None
    description: str | None = None
    updated: datetime | None = None
    tags: list[str] = Field(default_factory=new_list)
    run_metadata: dict[str, Any] = Field(default_factory=new_dict)
    run_metadata_types: dict[str, str] = Field(default_factory=new_dict)

    @model_validator(mode="after")
    def _typed_metadata(self) -> Self:
        if self.run_metadata_types:
            self.run_metadata = decode_metadata(self.run_metadata, self.run_metadata_types)
        return self

    @property
    def model(self) -> ModelResponse:
        """The model this is a version of."""
        return self.store.get_model(self.model_id)

    @property
    def pipeline_runs(self) -> "dict[str, PipelineRunResponse]":
        """Runs linked to this version, by run name, oldest first."""
        from headrace.models.filters import PipelineRunFilter

        page = self.store.list_runs(
            PipelineRunFilter(model_version_id=self.id, size=10_000, sort_by="asc:created")
        )
        return {run.name: run for run in page.items}

    @property
    def artifact_versions(self) -> "list[ArtifactVersionResponse]":
        """Artifact versions linked to this version, oldest first."""
        from headrace.models.filters import ArtifactVersionFilter

        return self.store.list_artifact_versions(
            ArtifactVersionFilter(model_version_id=self.id, size=10_000, sort_by="asc:created")
        ).items

    @property
    def artifacts(self) -> "dict[str, dict[str, ArtifactVersionResponse]]":
        """Linked artifact versions by artifact name, then version."""
        return _by_name(self.artifact_versions)

    @property
    def data_artifacts(self) -> "dict[str, dict[str, ArtifactVersionResponse]]":
        """Linked artifact versions that are not models, by artifact name and version."""
        return _by_name([v for v in self.artifact_versions if v.type is not ArtifactType.MODEL])

    @property
    def model_artifacts(self) -> "dict[str, dict[str, ArtifactVersionResponse]]":
        """Linked artifact versions of type ``ModelArtifact``, by name and version."""
        return _by_name([v for v in self.artifact_versions if v.type is ArtifactType.MODEL])

    def get_artifact(self, name: str, version: str | None = None) -> "ArtifactVersionResponse":
        """A linked artifact version by artifact name (the newest linked one by default).

        Raises:
            EntityNotFoundError: nothing of that name (and version) is linked.
        """
        from headrace.exceptions import EntityNotFoundError

        versions = self.artifacts.get(name, {})
        if version is not None and str(version) in versions:
            return versions[str(version)]
        if version is None and versions:
            return list(versions.values())[-1]
        wanted = name if version is None else f"{name!r} version {version!r}"
        raise EntityNotFoundError(
            f"Model {self.model_name!r} version {self.name!r} has no linked artifact {wanted}."
        )

    def load_artifact(self, name: str, version: str | None = None) -> Any:
        """The value of a linked artifact version (see :meth:`get_artifact`)."""
        return self.get_artifact(name, version).load()

    def get_model_artifact(
        self, name: str, version: str | None = None
    ) -> "ArtifactVersionResponse":
        """A linked artifact version of type ``ModelArtifact`` by artifact name."""
        return _pick(self.model_artifacts, name, version, self)

    def get_data_artifact(self, name: str, version: str | None = None) -> "ArtifactVersionResponse":
        """A linked artifact version that is not a model, by artifact name."""
        return _pick(self.data_artifacts, name, version, self)

    def set_stage(self, stage: "str | ModelStages", force: bool = False) -> None:
        """Put this version in ``stage``; with ``force`` the current holder is archived.

        Raises:
            StoreError: another version holds the stage and ``force`` is not set.
            ValueError: ``stage`` is not a stage name.
        """
        stage = stage if isinstance(stage, ModelStages) else ModelStages(str(stage).lower())
        updated = self.store.update_model_version(
            self.id, ModelVersionUpdate(stage=stage, force=force)
        )
        self.stage = updated.stage

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into this version's run metadata."""
        from headrace.enums import MetadataResourceType
        from headrace.metadata.metadata_types import validate_metadata

        values = validate_metadata(
            metadata, owner=f"Metadata of model {self.model_name!r} version {self.name!r}"
        )
        self.store.add_run_metadata(MetadataResourceType.MODEL_VERSION, self.id, values)
        self.run_metadata = {**self.run_metadata, **values}

    def get_pipeline_run(self, name: str) -> "PipelineRunResponse":
        """A linked run by name.

        Raises:
            EntityNotFoundError: no linked run has that name.
        """
        from headrace.exceptions import EntityNotFoundError

        runs = self.pipeline_runs
        if name not in runs:
            raise EntityNotFoundError(
                f"Model {self.model_name!r} version {self.name!r} has no linked run {name!r}."
            )
        return runs[name]


def _by_name(
    versions: "list[ArtifactVersionResponse]",
) -> "dict[str, dict[str, ArtifactVersionResponse]]":
    result: dict[str, dict[str, ArtifactVersionResponse]] = {}
    for version in versions:
        result.setdefault(version.name, {})[version.version] = version
    return result


def _pick(
    versions: "dict[str, dict[str, ArtifactVersionResponse]]",
    name: str,
    version: str | None,
    owner: ModelVersionResponse,
) -> "ArtifactVersionResponse":
    from headrace.exceptions import EntityNotFoundError

    found = versions.get(name, {})
    if version is not None and str(version) in found:
        return found[str(version)]
    if version is None and found:
        return list(found.values())[-1]
    raise EntityNotFoundError(
        f"Model {owner.model_name!r} version {owner.name!r} has no linked artifact {name!r} "
        "of that kind" + ("" if version is None else f" in version {version!r}") + "."
    )
