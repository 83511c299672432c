"""Materializers: how values become artifact bytes and back.

``BaseMaterializer`` is the class to subclass for custom types.
"""

from headrace.materializers.base_materializer import BaseMaterializer

__all__ = ["BaseMaterializer"]
