"""Output naming rules: one output, none, Annotated names, tuple-literal returns."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from headrace import step
from headrace.dsl.signature import inspect_outputs
from headrace.exceptions import StepInterfaceError


def names(func: Any) -> list[str]:
    return list(inspect_outputs(func, func.__name__))


def test_single_output_is_named_output() -> None:
    def f() -> int:
        return 1

    assert names(f) == ["output"]


def test_unannotated_function_has_one_output() -> None:
    def f():  # type: ignore[no-untyped-def]
        return 1

    assert names(f) == ["output"]


def test_none_annotation_means_no_outputs() -> None:
    def f() -> None:
        return None

    assert names(f) == []


def test_annotated_names_the_output() -> None:
    def f() -> Annotated[int, "count"]:
        return 1

    outputs = inspect_outputs(f, "f")
    assert list(outputs) == ["count"] and outputs["count"].annotation is int
    assert outputs["count"].custom_name


def test_tuple_literal_return_gives_numbered_outputs() -> None:
    def f() -> tuple[int, str]:
        return 1, "a"

    assert names(f) == ["output_0", "output_1"]


def test_parenthesised_tuple_literal_counts_too() -> None:
    def f() -> tuple[int, int]:
        if True:
            return (1, 2)
        return (3, 4)

    assert names(f) == ["output_0", "output_1"]


def test_returning_a_tuple_variable_is_one_tuple_output() -> None:
    def f() -> tuple[int, int]:
        value = (1, 2)
        return value

    assert names(f) == ["output"]


def test_mixed_literal_and_variable_returns_are_one_output() -> None:
    def f(flag: bool) -> tuple[int, int]:
        if flag:
            return 1, 2
        pair = (3, 4)
        return pair

    assert names(f) == ["output"]


def test_nested_function_returns_are_ignored() -> None:
    def f() -> tuple[int, int]:
        def inner() -> int:
            return 5

        return inner(), 2

    assert names(f) == ["output_0", "output_1"]


def test_named_tuple_outputs() -> None:
    def f() -> tuple[Annotated[int, "a"], Annotated[str, "b"]]:
        return 1, "x"

    outputs = inspect_outputs(f, "f")
    assert list(outputs) == ["a", "b"]
    assert outputs["b"].annotation is str


def test_unannotated_tuple_literal_follows_the_literal() -> None:
    def f():  # type: ignore[no-untyped-def]
        return 1, 2, 3

    assert names(f) == ["output_0", "output_1", "output_2"]


def test_tuple_length_mismatch_is_an_error() -> None:
    def f() -> tuple[int, int, int]:
        return 1, 2

    with pytest.raises(StepInterfaceError, match="returns a tuple of 2 values"):
        names(f)


def test_duplicate_output_names_are_an_error() -> None:
    def f() -> tuple[Annotated[int, "x"], Annotated[int, "x"]]:
        return 1, 2

    with pytest.raises(StepInterfaceError, match="two outputs named 'x'"):
        names(f)


def test_var_args_are_refused() -> None:
    @step
    def f(*values: int) -> int:
        return sum(values)

    with pytest.raises(StepInterfaceError, match=r"\*args or \*\*kwargs"):
        _ = f.signature
