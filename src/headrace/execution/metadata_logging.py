"""``log_metadata``: attach metadata to a step run, run, artifact version or model version.

Inside a step, with no target, metadata goes to the running step run; metadata for the
running step's own outputs (``infer_artifact``, or an ``artifact_name`` that is one of
its outputs) is stored with the outputs, in the same transaction. Everything else is
written at once. Values may be JSON or the typed values of
``headrace.metadata.metadata_types``; they are read back typed.
"""

from __future__ import annotations

from typing import Any

from headrace.enums import MetadataResourceType
from headrace.exceptions import ConfigurationError, HeadraceError
from headrace.execution.context import StepContext, current_step_context
from headrace.metadata.metadata_types import validate_metadata
from headrace.store.base import Store
from headrace.store.factory import active_store


def log_metadata(
    metadata: dict[str, Any],
    *,
    step_id: str | None = None,
    step_name: str | None = None,
    run_id_name_or_prefix: str | None = None,
    artifact_version_id: str | None = None,
    artifact_name: str | None = None,
    artifact_version: str | int | None = None,
    infer_artifact: bool = False,
    model_version_id: str | None = None,
    model_name: str | None = None,
    model_version: str | int | None = None,
    infer_model: bool = False,
) -> None:
    """Attach ``metadata`` to one entity (a key logged again replaces the old value).

    Args:
        metadata: ``{key: value}``; values are JSON, tuples, sets, or ``Uri``, ``Path``,
            ``DType``, ``StorageSize`` from ``headrace.metadata.metadata_types``.
        step_id: a step run by id.
        step_name: a step (invocation) of ``run_id_name_or_prefix``, or of the running
            pipeline inside a step.
        run_id_name_or_prefix: a pipeline run (alone), or the run of ``step_name``.
        artifact_version_id: an artifact version by id.
        artifact_name: an artifact version by artifact name (``artifact_version``, else
            the latest); inside a step, an output (or output artifact) name of the
            running step means that output.
        artifact_version: the version of ``artifact_name``.
        infer_artifact: inside a step, its output (the only one, or ``artifact_name``).
        model_version_id: a model version by id.
        model_name: a model version by model name (``model_version``: a version name,
            number or stage; else the latest).
        model_version: the version of ``model_name``.
        infer_model: inside a step, the model version the step works on.

    Raises:
        ConfigurationError: bad metadata, no target outside a step, or several targets.
        EntityNotFoundError: the target does not exist.
    """
    metadata = validate_metadata(metadata)
    targets = {
        "step": step_id is not None or step_name is not None,
        "run": run_id_name_or_prefix is not None and step_id is None and step_name is None,
        "artifact": artifact_version_id is not None or artifact_name is not None or infer_artifact,
        "model": model_version_id is not None or model_name is not None or infer_model,
    }
    given = [name for name, wanted in targets.items() if wanted]
    if len(given) > 1:
        raise ConfigurationError(
            f"log_metadata attaches to one entity at a time; got targets for: {', '.join(given)}."
        )
    if artifact_version is not None and artifact_name is None:
        raise ConfigurationError("artifact_version needs artifact_name.")
    if model_version is not None and model_name is None:
        raise ConfigurationError("model_version needs model_name.")
    context = current_step_context()
    store = active_store()
    target = given[0] if given else None
    if target is None:
        if context is None:
            raise ConfigurationError(
                "log_metadata outside a step needs a target: step_id=, step_name= with "
                "run_id_name_or_prefix=, run_id_name_or_prefix=, artifact_version_id=, "
                "artifact_name=, model_version_id= or model_name=."
            )
        context.add_step_metadata(metadata)
    elif target == "step":
        _log_step(store, context, metadata, step_id, step_name, run_id_name_or_prefix)
    elif target == "run":
        run = store.get_run(str(run_id_name_or_prefix))
        store.add_run_metadata(MetadataResourceType.PIPELINE_RUN, run.id, metadata)
    elif target == "artifact":
        _log_artifact(
            store,
            context,
            metadata,
            artifact_version_id,
            artifact_name,
            artifact_version,
            infer_artifact,
        )
    else:
        _log_model(store, context, metadata, model_version_id, model_name, model_version)


def _log_step(
    store: Store,
    context: StepContext | None,
    metadata: dict[str, Any],
    step_id: str | None,
    step_name: str | None,
    run: str | None,
) -> None:
    if step_id is None:
        if run is None:
            if context is None:
                raise ConfigurationError("step_name needs run_id_name_or_prefix outside a step.")
            run = context.pipeline_run.id
        pipeline_run = store.get_run(run)
        steps = pipeline_run.steps
        if step_name not in steps:
            raise ConfigurationError(
                f"Run {pipeline_run.name!r} has no step {step_name!r} "
                f"(steps: {', '.join(steps) or 'none'})."
            )
        step_id = steps[str(step_name)].id
    elif context is None or str(step_id) != context.step_run_id:
        step_id = store.get_step_run(str(step_id)).id
    if context is not None and step_id == context.step_run_id:
        context.add_step_metadata(metadata)  # its row may not be written yet
        return
    store.add_run_metadata(MetadataResourceType.STEP_RUN, step_id, metadata)


def _log_artifact(
    store: Store,
    context: StepContext | None,
    metadata: dict[str, Any],
    version_id: str | None,
    name: str | None,
    version: str | int | None,
    infer: bool,
) -> None:
    if version_id is not None:
        version_id = store.get_artifact_version(str(version_id)).id
    elif context is not None and (infer or (name is not None and version is None)):
        output = context.output_named(name) if name is not None else None
        if output is not None or infer:
            if name is not None and output is None:
                raise HeadraceError(
                    f"Step {context.invocation_id!r} has no output {name!r} "
                    f"(outputs: {', '.join(context.output_names) or 'none'})."
                )
            context.add_output_metadata(metadata, output)
            return
    if version_id is None:
        if infer or name is None:
            raise HeadraceError("infer_artifact=True works only inside a running step.")
        version_id = store.get_artifact_version(name, version).id
    store.add_run_metadata(MetadataResourceType.ARTIFACT_VERSION, version_id, metadata)


def _log_model(
    store: Store,
    context: StepContext | None,
    metadata: dict[str, Any],
    version_id: str | None,
    name: str | None,
    version: str | int | None,
) -> None:
    if version_id is not None:
        target = store.get_model_version(str(version_id)).id
    elif name is not None:
        target = store.get_model_version(name, version).id
    else:
        if context is None:
            raise HeadraceError("infer_model=True works only inside a running step.")
        model_version = context.model_version
        if model_version is None:
            raise HeadraceError(
                f"infer_model=True: step {context.invocation_id!r} and its pipeline have no "
                "model; configure one with @step(model=Model(...)) or @pipeline(model=...)."
            )
        target = model_version.id
    store.add_run_metadata(MetadataResourceType.MODEL_VERSION, target, metadata)
