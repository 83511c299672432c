"""definition_source gives what inspect.getsource gives, statement for statement."""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from headrace.dsl.code_hash import code_hash
from headrace.dsl.source_text import definition_source


def _decorator(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def _with_args(*_: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return lambda func: func


def plain(x: int) -> int:
    """Docstring."""
    return x + 1


@_decorator
@_with_args(
    1,
    2,
)
def decorated(x: int) -> int:
    return x * 2
    # a trailing comment inside the block


async def coroutine() -> int:
    return 1


def one_liner() -> int: return 3  # fmt: skip


if True:

    def in_a_block(a: int, b: int) -> tuple[int, int]:
        return a, b


class Outer:
    """A class with methods and a nested class."""

    value = 1

    def method(self) -> int:
        return self.value

    @staticmethod
    def static() -> int:
        return 2

    class Inner:
        def deep(self) -> str:
            return "deep"


def factory() -> tuple[type, Callable[[], int]]:
    class Local:
        pass

    def local_function() -> int:
        return 4

    return Local, local_function


LocalClass, local_function = factory()
a_lambda = lambda: 5  # noqa: E731

OBJECTS = [
    plain,
    decorated,
    coroutine,
    one_liner,
    in_a_block,
    Outer,
    Outer.method,
    Outer.static,
    Outer.Inner,
    Outer.Inner.deep,
    factory,
    LocalClass,
    local_function,
    a_lambda,
]


def _statements(source: str) -> str:
    return ast.dump(ast.parse(textwrap.dedent(source)), include_attributes=False)


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: getattr(o, "__qualname__", repr(o)))
def test_same_statements_as_inspect(obj: Any) -> None:
    ours, theirs = definition_source(obj), inspect.getsource(obj)
    assert _statements(ours) == _statements(theirs)
    assert theirs.startswith(ours.rstrip("\n"))  # the same text, perhaps without comments


def test_decorated_function_text_starts_at_its_first_decorator() -> None:
    assert definition_source(decorated).startswith("@_decorator\n@_with_args(\n")
    assert definition_source(decorated).rstrip().endswith("return x * 2")


def test_no_source_raises_as_inspect_does() -> None:
    namespace: dict[str, Any] = {}
    exec("def generated():\n    return 1\n", namespace)
    for obj in (namespace["generated"], len, int):
        with pytest.raises((OSError, TypeError)) as ours:
            definition_source(obj)
        with pytest.raises((OSError, TypeError)) as theirs:
            inspect.getsource(obj)
        assert type(ours.value) is type(theirs.value)


def test_code_hashes_are_unchanged_by_the_faster_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    from headrace.dsl import code_hash as module

    ours = {id(o): code_hash(o) for o in OBJECTS if callable(o)}
    module.clear_code_hash_cache()
    monkeypatch.setattr(module, "definition_source", inspect.getsource)
    theirs = {id(o): code_hash(o) for o in OBJECTS if callable(o)}
    module.clear_code_hash_cache()
    assert ours == theirs


def test_an_edited_file_is_read_again(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    path = tmp_path / "edited_module.py"
    path.write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_module")
    try:
        assert definition_source(module.f) == "def f():\n    return 1\n"
        path.write_text("def f():\n    return 2  # edited\n")
        importlib.reload(module)
        assert definition_source(module.f) == inspect.getsource(module.f)
        assert "return 2" in definition_source(module.f)
    finally:
        sys.modules.pop("edited_module", None)
