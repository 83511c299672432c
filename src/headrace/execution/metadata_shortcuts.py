"""The older one-target spellings of ``log_metadata``, and linking artifacts to models.

Projects written for earlier releases call ``log_artifact_metadata``,
``log_model_metadata`` and ``log_step_metadata``; each is ``log_metadata`` with its
target fixed, so they store exactly what ``log_metadata`` would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.exceptions import HeadraceError
from headrace.execution.context import current_step_context
from headrace.execution.metadata_logging import log_metadata
from headrace.store.factory import active_store

if TYPE_CHECKING:
    from headrace.config.model import Model
    from headrace.models import ArtifactVersionResponse


def log_artifact_metadata(
    metadata: dict[str, Any],
    artifact_name: str | None = None,
    artifact_version: str | int | None = None,
) -> None:
    """Metadata for an artifact version; in a step with no name, its only output."""
    log_metadata(
        metadata,
        artifact_name=artifact_name,
        artifact_version=artifact_version,
        infer_artifact=artifact_name is None,
    )


def log_model_metadata(
    metadata: dict[str, Any],
    model_name: str | None = None,
    model_version: str | int | None = None,
) -> None:
    """Metadata for a model version; in a step with no name, the step's model version."""
    log_metadata(
        metadata,
        model_name=model_name,
        model_version=model_version,
        infer_model=model_name is None,
    )


def log_step_metadata(
    metadata: dict[str, Any],
    step_name: str | None = None,
    pipeline_name_id_or_prefix: str | None = None,
    run_id: str | None = None,
) -> None:
    """Metadata for a step run; in a step with no name, the running step."""
    run = run_id or pipeline_name_id_or_prefix
    if step_name is None:
        log_metadata(metadata)
        return
    if run is None:
        context = current_step_context()
        if context is None:
            raise HeadraceError(
                "log_step_metadata(step_name=...) outside a step needs run_id= (or "
                "pipeline_name_id_or_prefix=) to say which run's step is meant."
            )
        run = context.pipeline_run.id
    log_metadata(metadata, step_name=step_name, run_id_name_or_prefix=run)


def link_artifact_to_model(
    artifact_version: ArtifactVersionResponse, model: Model | None = None
) -> None:
    """Link an artifact version to a model version (the running step's, by default).

    Raises:
        HeadraceError: no ``model`` outside a step, or the step has no model.
        EntityNotFoundError: ``model`` names a version that does not exist.
    """
    store = active_store()
    if model is not None:
        version = model.version if model.version is not None else "latest"
        target = store.get_model_version(model.name, version).id
    else:
        context = current_step_context()
        model_version = None if context is None else context.model_version
        if model_version is None:
            raise HeadraceError(
                "link_artifact_to_model needs model= outside a step or in a step without a model."
            )
        target = model_version.id
    store.link_model_version(target, artifact_version_ids=[artifact_version.id])
