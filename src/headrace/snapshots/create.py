"""Create a snapshot: compile, archive the code, capture the environment, store it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from headrace.artifacts.loading import artifact_store_of
from headrace.config.source import get_source_root, is_importable_source, load_source
from headrace.config.spec import SPEC_SCHEMA_VERSION, PipelineSpec
from headrace.exceptions import SnapshotError
from headrace.models import SnapshotRequest, SnapshotResponse
from headrace.snapshots.code_archive import archive_code
from headrace.snapshots.environment import capture_environment
from headrace.snapshots.parameters import parameter_schema
from headrace.stacks.settings import orchestrator_configuration
from headrace.version import __version__

if TYPE_CHECKING:
    from headrace.dsl.compiler import CompiledPipeline
    from headrace.store.base import Store


def _sources(spec: PipelineSpec) -> list[str]:
    sources = [spec.source]
    for step in spec.steps.values():
        sources.append(step.source)
        for output in step.outputs.values():
            sources += output.materializer_source or []
        sources += [
            s for s in (step.config.failure_hook_source, step.config.success_hook_source) if s
        ]
    config = spec.config
    sources += [
        s
        for s in (
            config.failure_hook_source,
            config.success_hook_source,
            config.init_hook_source,
            config.cleanup_hook_source,
        )
        if s
    ]
    return sources


def check_importable(compiled: CompiledPipeline) -> None:
    """Every function the snapshot refers to must be importable from the archived code."""
    check_sources_importable(compiled.spec)


def check_sources_importable(spec: PipelineSpec) -> None:
    """Every function ``spec`` refers to must be importable from the archived code.

    Raises:
        SnapshotError: naming the functions defined inside other functions or classes.
    """
    bad = sorted({s for s in _sources(spec) if not is_importable_source(s)})
    if bad:
        raise SnapshotError(
            "A snapshot runs in a fresh process, so everything it refers to must be defined "
            f"at module level in the project; these are not: {', '.join(bad)}."
        )


def create_snapshot(
    store: Store | None,
    compiled: CompiledPipeline,
    name: str,
    *,
    description: str | None = None,
    replace: bool = False,
    stack: str | None = None,
) -> SnapshotResponse:
    """Store a named, runnable snapshot of a compiled pipeline.

    It runs on ``stack`` (a stack name or id; default: the active stack), whatever stack
    is active when it is run later; its code is archived in that stack's artifact store.
    """
    if not name or not name.strip():
        raise SnapshotError("A snapshot needs a non-empty name.")
    if store is None:
        from headrace.store.factory import get_store

        store = get_store()
    check_importable(compiled)
    spec = compiled.spec
    target = store.get_stack(stack) if stack else store.get_active_stack()
    orchestrator_configuration(target, spec.config.settings)  # refuse bad settings now
    artifact_store = artifact_store_of(store, target.id)
    archive = archive_code(get_source_root(), artifact_store, exclude=store.local_files())

    def resolve(source: str) -> Any:
        obj = compiled.objects.get(source) or load_source(source)
        return getattr(obj, "entrypoint", obj)

    extra = {
        "code": {
            "digest": archive.digest,
            "uri": archive.uri,
            "files": archive.files,
            "size": archive.size,
            "modules": list(archive.modules),
        },
        "source_root": str(get_source_root()),
        "environment": capture_environment(spec.config.settings),
        "parameter_schema": parameter_schema(spec, resolve),
        "headrace_version": __version__,
        "spec_schema_version": SPEC_SCHEMA_VERSION,
        "run_config": compiled.run_config.set_fields_json(),
    }
    pipeline_id = store.get_or_create_pipeline(spec.name, spec.docstring).id
    return store.create_snapshot(
        SnapshotRequest(
            id=str(uuid.uuid4()),
            name=name.strip(),
            description=description,
            pipeline_id=pipeline_id,
            stack_id=target.id,
            spec=spec,
            spec_hash=spec.content_hash(),
            runnable=True,
            extra=extra,
        ),
        replace=replace,
    )
