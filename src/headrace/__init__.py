"""headrace: ML pipelines with tracked artifacts, caching and runnable snapshots.

This module is the public API; everything a pipeline author needs is importable here.
"""

from headrace import runs as _runs  # noqa: F401  (provides the run entry points)
from headrace.config.artifact_config import ArtifactConfig
from headrace.dsl.pipeline import Pipeline, pipeline
from headrace.dsl.step import BaseStep, step
from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.execution.context import get_step_context
from headrace.execution.model_handle import Model
from headrace.execution.pipeline_context import get_pipeline_context
from headrace.version import __version__

_SHORTCUTS = (
    "link_artifact_to_model",
    "log_artifact_metadata",
    "log_model_metadata",
    "log_step_metadata",
)


def __getattr__(name: str) -> object:
    # Loaded on first use so that `import headrace` stays light.
    if name in ("load_artifact", "save_artifact"):
        from headrace.artifacts import utils

        return getattr(utils, name)
    if name == "Client":
        from headrace.client import Client

        return Client
    if name in ("add_tags", "remove_tags"):
        from headrace.execution import tagging

        return getattr(tagging, name)
    if name == "log_metadata":
        from headrace.execution.metadata_logging import log_metadata

        return log_metadata
    if name in _SHORTCUTS:
        from headrace.execution import metadata_shortcuts

        return getattr(metadata_shortcuts, name)
    if name == "ExternalArtifact":
        from headrace.artifacts.external_artifact import ExternalArtifact

        return ExternalArtifact
    raise AttributeError(f"module 'headrace' has no attribute {name!r}")


__all__ = [
    "ArtifactConfig",
    "BaseStep",
    "Client",
    "ExecutionMode",
    "ExecutionStatus",
    "ExternalArtifact",
    "Model",
    "Pipeline",
    "__version__",
    "add_tags",
    "get_pipeline_context",
    "get_step_context",
    "link_artifact_to_model",
    "load_artifact",
    "log_artifact_metadata",
    "log_metadata",
    "log_model_metadata",
    "log_step_metadata",
    "pipeline",
    "remove_tags",
    "save_artifact",
    "step",
]
