"""``add_tags`` / ``remove_tags``: tag pipelines, runs, artifacts and models.

Inside a step, with no target, the tags go to the step's pipeline run; ``infer_artifact``
(or an ``artifact_name`` that is one of the step's outputs) tags the step's output, stored
with the output in the same transaction. Outside a step a target must be named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headrace.enums import TaggableResourceType
from headrace.exceptions import ConfigurationError, HeadraceError
from headrace.execution.context import StepContext, current_step_context
from headrace.models import ArtifactResponse, ArtifactVersionResponse
from headrace.models.tag import clean_tags
from headrace.store.base import Store
from headrace.store.factory import active_store


def add_tags(
    tags: str | Sequence[str],
    *,
    pipeline: Any = None,
    run: Any = None,
    artifact: Any = None,
    artifact_version_id: str | None = None,
    artifact_name: str | None = None,
    artifact_version: str | int | None = None,
    infer_artifact: bool = False,
    model: str | None = None,
    model_name: str | None = None,
    model_version: str | int | None = None,
) -> None:
    """Attach tags to one entity.

    Args:
        tags: a tag or a list of tags.
        pipeline: a pipeline (name, id or response).
        run: a pipeline run (name, id, id prefix or response).
        artifact: an artifact (name or id), or an artifact version response.
        artifact_version_id: an artifact version by id.
        artifact_name: an artifact version by artifact name (with ``artifact_version``,
            else the latest); inside a step, an output name or output artifact name
            means that output of the running step.
        artifact_version: the version of ``artifact_name``.
        infer_artifact: inside a step, the step's output (the only one, or the one
            ``artifact_name`` names).
        model: a model by name or id.
        model_name: a model version by model name (with ``model_version``, a version
            name, number or stage; else the latest).
        model_version: the version of ``model_name``.

    Raises:
        ConfigurationError: no target outside a step, or more than one target.
        EntityNotFoundError: the target does not exist.
    """
    names = clean_tags(tags)
    _apply(names, remove=False, **_targets(locals()))


def remove_tags(
    tags: str | Sequence[str],
    *,
    pipeline: Any = None,
    run: Any = None,
    artifact: Any = None,
    artifact_version_id: str | None = None,
    artifact_name: str | None = None,
    artifact_version: str | int | None = None,
    infer_artifact: bool = False,
    model: str | None = None,
    model_name: str | None = None,
    model_version: str | int | None = None,
) -> None:
    """Detach tags from one entity; takes the same targets as :func:`add_tags`.

    Tags the entity does not carry are ignored.
    """
    names = clean_tags(tags)
    _apply(names, remove=True, **_targets(locals()))


_TARGET_GROUPS = {
    "pipeline": ("pipeline",),
    "run": ("run",),
    "artifact": ("artifact",),
    "artifact version": ("artifact_version_id", "artifact_name", "infer_artifact"),
    "model": ("model",),
    "model version": ("model_name",),
}


def _targets(arguments: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "tags" and k != "names"}


def _apply(names: list[str], *, remove: bool, **targets: Any) -> None:
    given = [
        group
        for group, keys in _TARGET_GROUPS.items()
        if any(targets[key] not in (None, False) for key in keys)
    ]
    if len(given) > 1:
        raise ConfigurationError(
            f"Tags go to one entity at a time; got targets for: {', '.join(given)}."
        )
    if targets["artifact_version"] is not None and targets["artifact_name"] is None:
        raise ConfigurationError("artifact_version needs artifact_name.")
    if targets["model_version"] is not None and targets["model_name"] is None:
        raise ConfigurationError("model_version needs model_name.")
    context = current_step_context()
    if context is not None and _tags_running_output(context, names, remove, targets):
        return
    store = active_store()
    resource_type, resource_id = _resolve(store, context, given[0] if given else None, targets)
    if remove:
        store.remove_tags(resource_type, resource_id, names)
    else:
        store.add_tags(resource_type, resource_id, names)


def _tags_running_output(
    context: StepContext, names: list[str], remove: bool, targets: dict[str, Any]
) -> bool:
    """Tag an output of the running step, if that is what the targets mean."""
    output: str | None = None
    if targets["infer_artifact"]:
        name = targets["artifact_name"]
        output = context.output_named(name) if name else None
        if name and output is None:
            raise HeadraceError(
                f"Step {context.invocation_id!r} has no output {name!r} "
                f"(outputs: {', '.join(context.output_names) or 'none'})."
            )
    elif targets["artifact_name"] and targets["artifact_version"] is None:
        output = context.output_named(targets["artifact_name"])
        if output is None:
            return False  # another artifact: tagged in the store
    else:
        return False
    if remove:
        context.remove_output_tags(names, output)
    else:
        context.add_output_tags(names, output)
    return True


def _resolve(
    store: Store, context: StepContext | None, group: str | None, targets: dict[str, Any]
) -> tuple[TaggableResourceType, str]:
    if group is None:
        if context is None:
            raise ConfigurationError(
                "Outside a step, name what to tag: pipeline=, run=, artifact=, "
                "artifact_version_id=, artifact_name=, model= or model_name=."
            )
        return TaggableResourceType.PIPELINE_RUN, context.pipeline_run.id
    if group == "pipeline":
        return TaggableResourceType.PIPELINE, store.get_pipeline(_key(targets["pipeline"])).id
    if group == "run":
        return TaggableResourceType.PIPELINE_RUN, store.get_run(_key(targets["run"])).id
    if group == "artifact":
        artifact = targets["artifact"]
        if isinstance(artifact, ArtifactVersionResponse):
            return TaggableResourceType.ARTIFACT_VERSION, artifact.id
        if isinstance(artifact, ArtifactResponse):
            return TaggableResourceType.ARTIFACT, artifact.id
        return TaggableResourceType.ARTIFACT, store.get_artifact(str(artifact)).id
    if group == "artifact version":
        if targets["artifact_version_id"] is not None:
            version_id = str(targets["artifact_version_id"])
            return TaggableResourceType.ARTIFACT_VERSION, store.get_artifact_version(version_id).id
        if targets["infer_artifact"]:
            raise HeadraceError("infer_artifact=True works only inside a running step.")
        version = store.get_artifact_version(targets["artifact_name"], targets["artifact_version"])
        return TaggableResourceType.ARTIFACT_VERSION, version.id
    if group == "model":
        return TaggableResourceType.MODEL, store.get_model(str(targets["model"])).id
    model_version = store.get_model_version(targets["model_name"], targets["model_version"])
    return TaggableResourceType.MODEL_VERSION, model_version.id


def _key(value: Any) -> str:
    """A name or id given as text, a UUID, or a response object."""
    return str(getattr(value, "id", value))
