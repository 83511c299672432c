"""``headrace.model.model.Model``: the same class as ``headrace.Model``."""

from headrace.execution.model_handle import Model

__all__ = ["Model"]
