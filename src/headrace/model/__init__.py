"""``headrace.model``: where projects written for the ``zenml.model`` path find ``Model``."""

from headrace.execution.model_handle import Model

__all__ = ["Model"]
