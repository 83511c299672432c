"""Fallback for types no other materializer handles: cloudpickle, with a warning.

Pickles only load reliably under the Python version that wrote them, and loading one
runs code, so headrace warns when it falls back to this and refuses to load a pickle
written by another Python version. The version is recorded twice: on the artifact version
(checked before any file is opened) and in a small file next to the pickle, so a pickle
stored inside a container (one element of a list) is checked as well.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from headrace.exceptions import ArtifactIncompatibleError
from headrace.materializers.base_materializer import BaseMaterializer
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()

PICKLE_FILE = "artifact.pkl"
VERSION_FILE = "python_version.txt"


def python_version() -> str:
    """``major.minor.micro`` of the running interpreter."""
    return ".".join(str(v) for v in sys.version_info[:3])


def check_python_version(written: str | None, what: str) -> None:
    """Refuse to unpickle data written by another ``major.minor`` Python version.

    Args:
        written: the Python version that wrote the pickle (``None``: unknown, allowed).
        what: how to name the artifact in the error message.

    Raises:
        ArtifactIncompatibleError: the versions differ; the message names both.
    """
    if not written:
        return
    wanted = written.split(".")[:2]
    if wanted == python_version().split(".")[:2]:
        return
    raise ArtifactIncompatibleError(
        f"{what} was stored with cloudpickle under Python {written} and cannot be loaded "
        f"safely under Python {python_version()}. Load it with Python {'.'.join(wanted)}, "
        "or re-create it with a materializer that does not pickle."
    )


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
            ".".join(python_version().split(".")[:2]),
        )
        with self.artifact_store.open(self.join(PICKLE_FILE), "wb") as handle:
            cloudpickle.dump(data, handle)
        with self.artifact_store.open(self.join(VERSION_FILE), "w") as handle:
            handle.write(python_version())

    def load(self, data_type: type[Any]) -> Any:
        import cloudpickle

        # The version file is written with every pickle; without it nothing says the
        # pickle is safe to load here, so its absence refuses rather than skips the check.
        try:
            with self.artifact_store.open(self.join(VERSION_FILE), "r") as handle:
                written = handle.read().strip()
        except FileNotFoundError:
            written = ""
        if not written:
            raise ArtifactIncompatibleError(
                f"The pickle at {self.uri} has no record of the Python version that wrote it "
                f"({VERSION_FILE} is missing), so it is not unpickled."
            )
        check_python_version(written, f"The pickle at {self.uri}")
        with self.artifact_store.open(self.join(PICKLE_FILE), "rb") as handle:
            return cloudpickle.load(handle)

    @classmethod
    def can_handle_type(cls, data_type: type[Any]) -> bool:
        return True
