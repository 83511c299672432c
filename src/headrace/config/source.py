"""Source references: ``module.qualname`` strings that name importable Python objects.

Specs and snapshots refer to code by source so they can be stored as JSON and loaded in a
fresh process. A script run as ``python run.py`` has the module name ``__main__``; we
name it after its path relative to the source root instead (``run``), which is what a
fresh process can import.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from headrace.exceptions import ConfigurationError
from headrace.utils.env import ENV_SOURCE_ROOT
from headrace.utils.repository import find_repository_root

BUILTIN_PREFIX = "builtins."


def get_source_root() -> Path:
    """The directory that module names are relative to.

    ``HEADRACE_SOURCE_ROOT``, else the repository root made by ``headrace init``, else the
    directory of the script being run, else the current directory.
    """
    explicit = os.environ.get(ENV_SOURCE_ROOT)
    if explicit:
        return Path(explicit).resolve()
    repo = find_repository_root()
    if repo is not None:
        return repo
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file:
        directory = Path(main_file).resolve().parent
        # A console script (``headrace``) lives in the environment, not in the project.
        if not directory.is_relative_to(Path(sys.prefix).resolve()):
            return directory
    return Path.cwd().resolve()


@lru_cache(maxsize=64)
def _main_module_name(main_file: str, root: str) -> str:
    path = Path(main_file).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        relative = Path(path.name)
    return ".".join(relative.with_suffix("").parts)


def module_name_of(module_name: str) -> str:
    """Replace ``__main__`` with an importable module name."""
    if module_name != "__main__":
        return module_name
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file:
        return module_name  # interactive session: not importable elsewhere
    return _main_module_name(main_file, str(get_source_root()))


def source_of(obj: Any) -> str:
    """The source reference of a class or function: ``module.qualname``."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if module is None or qualname is None:
        raise ConfigurationError(
            f"{obj!r} has no module and qualified name, so it cannot be referenced by source; "
            "use a module-level function or class."
        )
    return f"{module_name_of(module)}.{qualname}"


def is_importable_source(source: str) -> bool:
    """Whether a source names something a fresh process could import (no ``<locals>``)."""
    return (
        "<locals>" not in source and "<lambda>" not in source and not source.startswith("__main__.")
    )


def load_source(source: str) -> Any:
    """Import the object a source reference names.

    Tries the longest importable module prefix, then walks attributes, so nested
    classes (``mod.Outer.Inner``) resolve too.

    Raises:
        ConfigurationError: nothing importable has that name.
    """
    if not source or "." not in source:
        raise ConfigurationError(
            f"Source {source!r} is not of the form 'module.name' (for example 'run.my_step')."
        )
    parts = source.split(".")
    loaded = _already_loaded(parts)
    if loaded is not None:
        return loaded[0]
    _ensure_source_root_on_path()
    last_error: Exception | None = None
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = _import(module_name)
        except ModuleNotFoundError as exc:
            last_error = exc
            if exc.name and not module_name.startswith(exc.name):
                raise ConfigurationError(
                    f"Cannot load {source!r}: importing {module_name!r} failed: {exc}"
                ) from exc
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError as exc:
            raise ConfigurationError(
                f"Cannot load {source!r}: module {module_name!r} has no attribute "
                f"{'.'.join(parts[split:])!r}."
            ) from exc
        return obj
    raise ConfigurationError(
        f"Cannot load {source!r}: no module of that name can be imported "
        f"(source root: {get_source_root()})."
    ) from last_error


def _already_loaded(parts: list[str]) -> tuple[Any] | None:
    """The object, when its module is imported already: no path or source-root work
    (this runs for every step and materializer a step uses)."""
    for split in range(len(parts) - 1, 0, -1):
        obj = sys.modules.get(".".join(parts[:split]))
        if obj is None:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None  # the full lookup below explains what is missing
        return (obj,)
    return None


def _import(module_name: str) -> Any:
    main = sys.modules.get("__main__")
    if main is not None and module_name_of("__main__") == module_name:
        return main  # the running script is this module; don't import it twice
    return importlib.import_module(module_name)


def _ensure_source_root_on_path() -> None:
    root = str(get_source_root())
    if root not in sys.path:
        sys.path.insert(0, root)


def resolve_callable(value: str | Callable[..., Any], *, what: str) -> Callable[..., Any]:
    """Load a callable given as a callable or a source string; ``what`` names it in errors."""
    obj = load_source(value) if isinstance(value, str) else value
    if not callable(obj):
        raise ConfigurationError(f"{what} {value!r} is not callable.")
    return obj


def type_source(annotation: Any) -> str | None:
    """Source of the class an annotation names (``list[int]`` -> ``builtins.list``).

    ``None`` for annotations that name no single class (``Any``, unions, type variables).
    """
    import types
    import typing

    if annotation is None or annotation is types.NoneType:
        return "types.NoneType"
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_source(typing.get_args(annotation)[0])
    target = origin if origin is not None else annotation
    if not isinstance(target, type):
        return None
    if target is types.NoneType:
        return "types.NoneType"
    return f"{module_name_of(target.__module__)}.{target.__qualname__}"
