"""Hash a function's code, and the project-local code it reaches.

The hash covers the function's source with docstrings, comments and decorators removed
(formatting-only edits keep the hash), plus the same for every function, class or module
of the *project* (files under the source root, outside site-packages) that the function
refers to by a global name, followed transitively. Editing a helper therefore changes
the hash of every step that calls it. Library code is not hashed: pin its version instead.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
import sysconfig
import textwrap
import types
from functools import lru_cache
from pathlib import Path
from typing import Any

from headrace.config.source import get_source_root
from headrace.dsl.source_text import definition_source

_MAX_OBJECTS = 200


@lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return tuple(sorted(str(Path(r).resolve()) for r in roots if r))


@lru_cache(maxsize=4096)
def _is_project_file(filename: str, root: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except OSError:
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    if not path.startswith(root):
        return False
    return not any(path.startswith(lib) for lib in _library_roots() if not root.startswith(lib))


def _strip(node: ast.AST) -> ast.AST:
    for child in ast.walk(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            body = child.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                child.body = body[1:] or [ast.Pass()]
    return node


def normalized_source_digest(obj: Any) -> str:
    """SHA-256 of an object's source without docstrings, comments or decorators."""
    return _source_digest(obj)


def _source_digest(obj: Any) -> str:
    try:
        source = textwrap.dedent(definition_source(obj))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        code = getattr(obj, "__code__", None)
        raw = code.co_code if code is not None else repr(obj).encode()
        return hashlib.sha256(raw).hexdigest()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.decorator_list = []
    dumped = ast.dump(_strip(tree), annotate_fields=False, include_attributes=False)
    return hashlib.sha256(dumped.encode()).hexdigest()


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _unwrap(obj: Any) -> Any:
    entrypoint = getattr(obj, "entrypoint", None)  # a step object refers to its function
    if entrypoint is not None and callable(entrypoint) and hasattr(obj, "_is_headrace_step"):
        return entrypoint
    return inspect.unwrap(obj) if callable(obj) else obj


def _project_object(obj: Any, root: str) -> bool:
    if isinstance(obj, types.ModuleType):
        filename = getattr(obj, "__file__", None)
    elif isinstance(obj, types.FunctionType | type):
        module = sys.modules.get(getattr(obj, "__module__", "") or "")
        filename = getattr(module, "__file__", None)
    else:
        return False
    return bool(filename) and _is_project_file(str(filename), root)


def reachable_project_code(func: Any) -> list[Any]:
    """Project-local functions, classes and modules that ``func`` refers to, transitively."""
    root = str(get_source_root())
    seen: dict[int, Any] = {}
    queue: list[Any] = [func]
    while queue and len(seen) < _MAX_OBJECTS:
        current = queue.pop()
        code = getattr(current, "__code__", None)
        if code is None:
            continue
        namespace = getattr(current, "__globals__", {})
        for name in sorted(_global_names(code)):
            target = namespace.get(name)
            if target is None:
                continue
            target = _unwrap(target)
            if id(target) in seen or target is func or not _project_object(target, root):
                continue
            seen[id(target)] = target
            if isinstance(target, types.FunctionType):
                queue.append(target)
            elif isinstance(target, type):
                queue.extend(v for v in vars(target).values() if isinstance(v, types.FunctionType))
    return list(seen.values())


def _label(obj: Any) -> str:
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
    return f"{getattr(obj, '__module__', '')}.{name}"


_HASHES: dict[Any, str] = {}


def code_hash(func: Any) -> str:
    """Hash of ``func``'s code and of the project code it reaches (cached per function)."""
    key = getattr(func, "__code__", func)
    cached = _HASHES.get(key)
    if cached is not None:
        return cached
    parts = [_source_digest(func)]
    parts += sorted(f"{_label(o)}:{_source_digest(o)}" for o in reachable_project_code(func))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    _HASHES[key] = digest
    return digest


def clear_code_hash_cache() -> None:
    """Forget cached hashes (after code was edited in a long-lived process)."""
    _HASHES.clear()
