"""The source text of a function or class, as ``inspect.getsource`` gives it, found faster.

``inspect.getsource`` finds where a definition ends by tokenizing the file from its first
line, and the tokenizer's first use in a process compiles its large regular expression:
about 5 ms, paid by every ``python run.py`` that hashes a step's code. The end of a
definition is also in the AST of its file (``end_lineno``), and parsing a project file
costs a fraction of that; each file is parsed once per version of its lines in
``linecache``.

The text runs from the definition's first decorator to the end of its last statement, so
it parses to the same statements as ``inspect.getsource`` (which may also include comment
lines after the last statement). Whenever the definition cannot be found unambiguously
(lambdas, code without a file, a definition not in the file as it is now),
``inspect.getsource`` answers instead, with its own errors.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import sys
import threading
import types
from typing import Any

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class _ParsedFile:
    """A file's tree (``None`` if it does not parse) and its functions by name and line."""

    def __init__(self, lines: list[str], tree: ast.Module | None) -> None:
        self.lines = lines  # the linecache list it was parsed from
        self.tree = tree
        self.functions: dict[tuple[str, int], list[_Definition]] = {}
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault((node.name, _first_line(node)), []).append(node)


_FILES: dict[str, _ParsedFile] = {}
_lock = threading.Lock()


def definition_source(obj: Any) -> str:
    """The source of a function or class (decorators included), like ``inspect.getsource``.

    Raises:
        OSError, TypeError: as ``inspect.getsource`` does when there is no source.
    """
    try:
        target = inspect.unwrap(obj)
        found = _from_file_tree(target) if isinstance(target, types.FunctionType | type) else None
    except Exception:  # anything unusual: the standard lookup decides, and raises
        found = None
    return found if found is not None else inspect.getsource(obj)


def _from_file_tree(obj: types.FunctionType | type) -> str | None:
    file = inspect.getsourcefile(obj)
    if not file:
        return None
    linecache.checkcache(file)
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    lines = linecache.getlines(file, module.__dict__ if module is not None else None)
    if not lines:
        return None
    parsed = _parsed(file, lines)
    if parsed.tree is None:
        return None
    if isinstance(obj, type):
        node = _class_node(parsed.tree, obj.__qualname__)
    else:
        code = obj.__code__
        matches = parsed.functions.get((code.co_name, code.co_firstlineno), [])
        node = matches[0] if len(matches) == 1 else None
    if node is None or node.end_lineno is None:
        return None
    return "".join(lines[_first_line(node) - 1 : node.end_lineno])


def _parsed(file: str, lines: list[str]) -> _ParsedFile:
    with _lock:
        cached = _FILES.get(file)
    if cached is not None and cached.lines is lines:
        return cached
    try:
        tree: ast.Module | None = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        tree = None
    parsed = _ParsedFile(lines, tree)
    with _lock:
        _FILES[file] = parsed
    return parsed


def _first_line(node: _Definition) -> int:
    return min([d.lineno for d in node.decorator_list] + [node.lineno])


def _class_node(tree: ast.Module, qualname: str) -> _Definition | None:
    """The one class whose qualified name (as Python builds it) is ``qualname``."""
    matches: list[_Definition] = []
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        parent, prefix = stack.pop()
        for node in ast.iter_child_nodes(parent):
            if isinstance(node, ast.ClassDef):
                name = f"{prefix}{node.name}"
                if name == qualname:
                    matches.append(node)
                stack.append((node, f"{name}."))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                stack.append((node, f"{prefix}{node.name}.<locals>."))
            else:
                stack.append((node, prefix))
    return matches[0] if len(matches) == 1 else None
