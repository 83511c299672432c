"""Outputs with a fixed version name (``ArtifactConfig(version=...)``) are checked before
their step runs: versions are immutable, so a second run that would store the same
version again fails at once, naming the artifact and version, not after the work."""

from __future__ import annotations

from headrace.config.spec import StepSpec
from headrace.exceptions import EntityExistsError, EntityNotFoundError
from headrace.execution.run_state import RunState


def refuse_taken_versions(state: RunState, step: StepSpec) -> None:
    """Raise if an output's fixed version already exists for its artifact name.

    Raises:
        EntityExistsError: that artifact already has that version.
    """
    for output, spec in step.outputs.items():
        if spec.artifact_version is None:
            continue
        name, _ = state.artifact_name(step, output)
        try:
            state.store.get_artifact_version(name, spec.artifact_version)
        except EntityNotFoundError:
            continue
        raise EntityExistsError(
            f"Step {step.invocation_id!r} output {output!r}: artifact {name!r} already has "
            f"version {spec.artifact_version!r} (set by ArtifactConfig(version=...)); versions "
            "are immutable, so change the version or let the step be cached."
        )
