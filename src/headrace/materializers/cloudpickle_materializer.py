"""Fallback for types no other materializer handles: cloudpickle, with a warning.

Pickles only load reliably under the Python version that wrote them, and loading one
runs code, so headrace warns when it falls back to this and refuses to load a pickle
written by another Python version.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, ClassVar

from headrace.materializers.base_materializer import BaseMaterializer

logger = logging.getLogger("headrace")

PICKLE_FILE = "artifact.pkl"


def python_version() -> str:
    """``major.minor.micro`` of the running interpreter."""
    return ".".join(str(v) for v in sys.version_info[:3])


class CloudpickleMaterializer(BaseMaterializer):
    """Any object, with cloudpickle."""

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()

    def save(self, data: Any) -> None:
        import cloudpickle

        logger.warning(
            "No materializer is registered for type %s.%s, so it is stored with cloudpickle. "
            "Such artifacts load only under Python %s; write a materializer for this type "
            "to store it portably.",
            type(data).__module__,
            type(data).__qualname__,
            python_version(),
        )
        with self.artifact_store.open(self.join(PICKLE_FILE), "wb") as handle:
            cloudpickle.dump(data, handle)

    def load(self, data_type: type[Any]) -> Any:
        import cloudpickle

        with self.artifact_store.open(self.join(PICKLE_FILE), "rb") as handle:
            return cloudpickle.load(handle)

    @classmethod
    def can_handle_type(cls, data_type: type[Any]) -> bool:
        return True
