"""Check the input names a ``CachePolicy`` leaves out of the cache key.

``ignore_fields`` and ``ignored_inputs`` name step inputs (parameters or artifacts); a
misspelt name would otherwise be ignored silently and the step would miss the cache, so
it is refused when the pipeline is compiled, naming the closest input.
"""

from __future__ import annotations

from collections.abc import Collection

from headrace.config.cache_policy import CachePolicy
from headrace.exceptions import ConfigurationError
from headrace.utils.suggest import unknown_key_message


def check_ignored_names(policy: CachePolicy | None, owner: str, inputs: Collection[str]) -> None:
    """Every name in ``ignore_fields`` / ``ignored_inputs`` must be one of ``inputs``.

    Raises:
        ConfigurationError: naming the field, the unknown name and the closest input.
    """
    if policy is None:
        return
    for field in ("ignore_fields", "ignored_inputs"):
        for name in getattr(policy, field):
            if name not in inputs:
                message = unknown_key_message("input", name, inputs)
                raise ConfigurationError(f"{owner}: CachePolicy({field}=...) names an {message}.")
