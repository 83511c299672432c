"""New pipeline parameters for a static snapshot: compile its archived code again.

A static pipeline's graph is fixed when it is compiled, and its pipeline parameters
feed the step parameters (or even the shape of the graph), so a run of a snapshot with
other pipeline ``parameters:`` cannot just patch the stored spec. The runner process,
which imports from the snapshot's code archive, calls the pipeline function again with
the snapshot's own run configuration and the new parameters. The graph it ran is stored
(an unnamed snapshot, its id in the run's metadata under ``graph_snapshot_id``) so the
run shows what executed, while the run stays linked to the named snapshot.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import PipelineSpec
from headrace.enums import MetadataResourceType
from headrace.exceptions import CompilationError, SnapshotError
from headrace.models import PipelineRunResponse, SnapshotRequest, SnapshotResponse
from headrace.store.base import Store

GRAPH_METADATA_KEY = "graph_snapshot_id"


def changes_parameters(spec: PipelineSpec, run_config: PipelineRunConfiguration) -> bool:
    """Whether a run of a static snapshot asks for pipeline parameters it was not made with."""
    if spec.config.dynamic or not run_config.parameters:
        return False
    return any(spec.parameters.get(k, object()) != v for k, v in run_config.parameters.items())


def recompiled_spec(
    store: Store,
    snapshot: SnapshotResponse,
    run: PipelineRunResponse,
    run_config: PipelineRunConfiguration,
) -> tuple[PipelineSpec, dict[str, Any]]:
    """The graph of ``snapshot``'s pipeline for the run's parameters, and its live objects.

    Must run where the snapshot's code archive is importable (the runner process).

    Raises:
        SnapshotError: the archived pipeline cannot be loaded or compiled with them, or the
            run configuration names steps the new graph does not have.
    """
    from headrace.config.source import load_source
    from headrace.dsl.compiler import compile_pipeline
    from headrace.dsl.pipeline import Pipeline

    label = snapshot.name or snapshot.id
    pipeline = load_source(snapshot.spec.source)
    if not isinstance(pipeline, Pipeline):
        raise SnapshotError(
            f"Snapshot {label!r}: {snapshot.spec.source} in its code archive is not a pipeline, "
            "so it cannot be compiled with new parameters."
        )
    stored = PipelineRunConfiguration.model_validate(snapshot.extra.get("run_config") or {})
    configured = copy.copy(pipeline)
    configured.run_configuration = pipeline.run_configuration.merged_with(stored).merged_with(
        PipelineRunConfiguration(parameters=dict(run_config.parameters))
    )
    try:
        compiled = compile_pipeline(configured)
    except CompilationError as error:
        raise SnapshotError(
            f"Snapshot {label!r} cannot be compiled with parameters "
            f"{dict(run_config.parameters)!r}: {error}"
        ) from error
    spec = compiled.spec
    unknown = sorted(set(run_config.steps) - set(spec.steps))
    if unknown:
        raise SnapshotError(
            f"With parameters {dict(run_config.parameters)!r}, pipeline {spec.name!r} has no "
            f"step(s) {', '.join(map(repr, unknown))}; its steps are: {', '.join(spec.steps)}."
        )
    _record_graph(store, run, spec)
    return spec, dict(compiled.objects)


def changed_step_parameters(
    spec: PipelineSpec, run_config: PipelineRunConfiguration
) -> PipelineRunConfiguration:
    """``run_config`` without step parameters equal to the stored graph's values.

    A configuration template repeats every step parameter; when the pipeline is compiled
    again with new pipeline parameters, an unchanged copy must not undo what the new
    pipeline parameters feed into the steps. Only the values the user changed stay.
    """
    steps = {}
    for name, step_config in run_config.steps.items():
        old = spec.steps[name].parameters if name in spec.steps else {}
        kept = {k: v for k, v in step_config.parameters.items() if old.get(k, object()) != v}
        if not kept and step_config.model_fields_set <= {"parameters"}:
            continue  # nothing of this step was changed
        steps[name] = step_config.model_copy(update={"parameters": kept})
    return run_config.model_copy(update={"steps": steps})


def _record_graph(store: Store, run: PipelineRunResponse, spec: PipelineSpec) -> None:
    if run.pipeline_id is None:
        return
    graph_id = store.ensure_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            pipeline_id=run.pipeline_id,
            stack_id=run.stack_id,
            spec=spec,
            spec_hash=spec.content_hash(),
        )
    )
    store.add_run_metadata(
        MetadataResourceType.PIPELINE_RUN, run.id, {GRAPH_METADATA_KEY: graph_id}
    )
