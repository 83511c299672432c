"""headrace: ML pipelines with tracked artifacts, caching and runnable snapshots.

This module is the public API; everything a pipeline author needs is importable here.
"""

from headrace import runs as _runs  # noqa: F401  (provides the run entry points)
from headrace.config.model import Model
from headrace.dsl.pipeline import Pipeline, pipeline
from headrace.dsl.step import BaseStep, step
from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.execution.context import get_step_context
from headrace.version import __version__


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
    raise AttributeError(f"module 'headrace' has no attribute {name!r}")


__all__ = [
    "BaseStep",
    "Client",
    "ExecutionMode",
    "ExecutionStatus",
    "Model",
    "Pipeline",
    "__version__",
    "add_tags",
    "get_step_context",
    "load_artifact",
    "log_metadata",
    "pipeline",
    "remove_tags",
    "save_artifact",
    "step",
]
