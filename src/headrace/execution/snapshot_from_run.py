"""A runnable snapshot made from a past run, so that run can be reproduced exactly.

The new snapshot holds the graph the run executed with the run's configuration applied
(its step parameters, settings, caching, ...) and the run's code:

* a run of a runnable snapshot already has its code pinned in an archive, which the new
  snapshot shares (nothing is archived again, whatever the working tree holds now);
* a plain run (``my_pipeline()``) recorded the code hash of every step but no archive, so
  the code is archived from the project now, after checking that every step and the
  pipeline still hash to what the run recorded; if anything changed, nothing is stored
  and the changed functions are named.
"""

from __future__ import annotations

import uuid
from typing import Any

from headrace.artifacts.loading import artifact_store_of
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import PipelineSpec
from headrace.exceptions import SnapshotError
from headrace.execution.snapshot_compile import GRAPH_METADATA_KEY
from headrace.execution.snapshot_runs import apply_overrides
from headrace.models import PipelineRunResponse, SnapshotRequest, SnapshotResponse
from headrace.store.base import Store
from headrace.version import __version__

# Run options that belong to one run only and must not be repeated by every later run.
_RUN_ONLY = frozenset({"run_name", "schedule", "synchronous"})


def create_snapshot_from_run(
    store: Store,
    run_name_or_id: str,
    name: str,
    *,
    description: str | None = None,
    replace: bool = False,
) -> SnapshotResponse:
    """Store a named, runnable snapshot that runs what ``run_name_or_id`` ran.

    Raises:
        SnapshotError: the run has no recorded pipeline, or (for a plain run) the project's
            code is no longer the code the run executed.
    """
    if not name or not name.strip():
        raise SnapshotError("A snapshot needs a non-empty name.")
    run = store.get_run(str(run_name_or_id))
    if run.snapshot_id is None or run.pipeline_id is None:
        raise SnapshotError(
            f"Run {run.name!r} has no recorded pipeline (a single step run, or its snapshot "
            "was deleted), so no snapshot can be made from it."
        )
    source = store.get_snapshot(run.snapshot_id)
    config = _carried_configuration(run)
    spec = _graph_of(store, run, source.spec)
    spec = apply_overrides(spec, config)
    if spec.config.dynamic:  # the function decides the steps again at run time
        spec = spec.model_copy(update={"steps": {}})
    extra = _pinned_extra(store, run, source, spec)
    extra["run_config"] = config.set_fields_json()
    extra["from_run"] = {"id": run.id, "name": run.name, "snapshot_id": source.id}
    return store.create_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            name=name.strip(),
            description=description or f"Made from run {run.name}.",
            pipeline_id=run.pipeline_id,
            stack_id=run.stack_id,
            spec=spec,
            spec_hash=spec.content_hash(),
            runnable=True,
            extra=extra,
        ),
        replace=replace,
    )


def _carried_configuration(run: PipelineRunResponse) -> PipelineRunConfiguration:
    values = {k: v for k, v in run.config.items() if k not in _RUN_ONLY}
    return PipelineRunConfiguration.model_validate(values)


def _graph_of(store: Store, run: PipelineRunResponse, spec: PipelineSpec) -> PipelineSpec:
    """The graph the run executed: compiled again for new parameters, else the snapshot's."""
    graph_id = run.run_metadata.get(GRAPH_METADATA_KEY)
    if isinstance(graph_id, str):
        return store.get_snapshot(graph_id).spec
    return spec


def _pinned_extra(
    store: Store, run: PipelineRunResponse, source: SnapshotResponse, spec: PipelineSpec
) -> dict[str, Any]:
    """Code, environment and parameter schema: shared with a runnable source snapshot,
    else archived now from code checked against the run's code hashes."""
    if "code" in source.extra:
        keep = ("code", "source_root", "environment", "parameter_schema", "spec_schema_version")
        extra = {key: source.extra[key] for key in keep if key in source.extra}
        extra["headrace_version"] = __version__
        return extra
    from headrace.config.source import get_source_root, load_source
    from headrace.snapshots.code_archive import archive_code
    from headrace.snapshots.create import check_sources_importable
    from headrace.snapshots.environment import capture_environment
    from headrace.snapshots.parameters import parameter_schema

    _check_code_unchanged(run, spec)
    check_sources_importable(spec)
    artifact_store = artifact_store_of(store, run.stack_id)
    archive = archive_code(get_source_root(), artifact_store)

    def resolve(source_ref: str) -> Any:
        obj = load_source(source_ref)
        return getattr(obj, "entrypoint", obj)

    from headrace.config.spec import SPEC_SCHEMA_VERSION

    return {
        "code": {
            "digest": archive.digest,
            "uri": archive.uri,
            "files": archive.files,
            "size": archive.size,
        },
        "source_root": str(get_source_root()),
        "environment": capture_environment(spec.config.settings),
        "parameter_schema": parameter_schema(spec, resolve),
        "headrace_version": __version__,
        "spec_schema_version": SPEC_SCHEMA_VERSION,
    }


def _check_code_unchanged(run: PipelineRunResponse, spec: PipelineSpec) -> None:
    """Every step and the pipeline must hash to what the run recorded.

    Raises:
        SnapshotError: naming each function whose code changed or cannot be imported.
    """
    from headrace.config.source import load_source

    expected = {spec.source: spec.code_hash}
    expected.update({step.source: step.code_hash for step in spec.steps.values()})
    changed = []
    for source_ref, recorded in expected.items():
        try:
            current = load_source(source_ref).code_hash
        except Exception as error:  # the function is gone or its module raises
            changed.append(f"{source_ref} (cannot be imported: {error})")
            continue
        if current != recorded:
            changed.append(source_ref)
    if changed:
        raise SnapshotError(
            f"Run {run.name!r} was not made from a snapshot, so its code was not archived, "
            f"and the project's code changed since: {', '.join(changed)}. Restore that code "
            "(e.g. check out the commit the run used) and try again, so the snapshot runs "
            "exactly what the run ran."
        )
