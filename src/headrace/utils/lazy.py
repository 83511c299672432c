"""Public names of a package loaded on first access (a module ``__getattr__``, PEP 562).

Packages re-export names whose modules are costly to import (pydantic classes to define,
numpy or pandas behind a materializer) so that importing the package stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, submodules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``submodules[name]`` on demand.

    The value is stored on the package afterwards, so later lookups do not come back here.
    """

    def __getattr__(name: str) -> Any:
        submodule = submodules.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
