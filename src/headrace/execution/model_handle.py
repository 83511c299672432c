"""``Model``: a model's configuration that also works as a handle on one of its versions.

Given to ``@pipeline(model=...)`` or ``@step(model=...)`` it says which model version a
run works on. Inside a step, ``get_step_context().model`` is a ``Model`` bound to the
version this run works on; outside steps, a ``Model`` whose version exists (a name,
number or stage; the latest version when none is given) reads that version. Either way
``.number``, ``.id``, ``.stage``, ``.run_metadata``, ``.get_artifact(...)``,
``.load_artifact(...)``, ``.set_stage(...)`` and ``.log_metadata(...)`` work on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr

from headrace.config.model import Model as ModelConfiguration
from headrace.enums import ModelStages

if TYPE_CHECKING:
    from headrace.models import ArtifactVersionResponse, ModelVersionResponse, PipelineRunResponse


class Model(ModelConfiguration):
    """A model by name and the version of it a run works on (see the module docstring)."""

    _version_id: str | None = PrivateAttr(default=None)

    @classmethod
    def bound(cls, configuration: ModelConfiguration, version: ModelVersionResponse) -> Model:
        """``configuration`` as a handle on ``version``; ``version`` stays what was configured
        (a stage stays a stage) unless nothing was, then it is the new version's name."""
        values = configuration.model_dump(exclude={"version"})
        chosen = configuration.version if configuration.version is not None else version.name
        handle = cls(**values, version=chosen)
        handle._version_id = version.id
        return handle

    # -- the version ----------------------------------------------------------------------
    def _model_version(self) -> ModelVersionResponse:
        """This model's version as stored now.

        Raises:
            EntityNotFoundError: the model, or that version of it, does not exist yet.
        """
        from headrace.store.factory import active_store

        store = active_store()
        if self._version_id is not None:
            return store.get_model_version(self._version_id)
        version = self.version if self.version is not None else ModelStages.LATEST.value
        return store.get_model_version(self.name, version)

    @property
    def id(self) -> str:
        """The id of the model version."""
        return self._model_version().id

    @property
    def model_id(self) -> str:
        """The id of the model."""
        return self._model_version().model_id

    @property
    def number(self) -> int:
        """The version's number (1, 2, ...)."""
        return self._model_version().number

    @property
    def stage(self) -> ModelStages | None:
        """The stage the version is in, if any."""
        return self._model_version().stage

    @property
    def run_metadata(self) -> dict[str, Any]:
        """Metadata logged on the version, as plain values."""
        return self._model_version().run_metadata

    @property
    def model_version(self) -> ModelVersionResponse:
        """The stored version itself."""
        return self._model_version()

    @property
    def pipeline_runs(self) -> dict[str, PipelineRunResponse]:
        """Runs linked to the version, by name."""
        return self._model_version().pipeline_runs

    # -- artifacts ----------------------------------------------------------------------
    def get_artifact(self, name: str, version: str | None = None) -> ArtifactVersionResponse:
        """A linked artifact version by artifact name (the newest one by default)."""
        return self._model_version().get_artifact(name, version)

    def load_artifact(self, name: str, version: str | None = None) -> Any:
        """The value of a linked artifact version."""
        return self.get_artifact(name, version).load()

    def get_model_artifact(self, name: str, version: str | None = None) -> ArtifactVersionResponse:
        """A linked ``ModelArtifact`` version by artifact name."""
        return self._model_version().get_model_artifact(name, version)

    def get_data_artifact(self, name: str, version: str | None = None) -> ArtifactVersionResponse:
        """A linked artifact version that is not a model, by artifact name."""
        return self._model_version().get_data_artifact(name, version)

    def get_pipeline_run(self, name: str) -> PipelineRunResponse:
        """A linked run by name."""
        return self._model_version().get_pipeline_run(name)

    # -- changes ------------------------------------------------------------------------
    def set_stage(self, stage: str | ModelStages, force: bool = False) -> None:
        """Put the version in ``stage``; ``force`` archives the version holding it now."""
        self._model_version().set_stage(stage, force=force)

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into the version's run metadata."""
        self._model_version().log_metadata(metadata)
