"""Check values against step annotations, cheaply enough for every step run."""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from headrace.exceptions import StepInputTypeError, StepOutputTypeError
from headrace.utils.numbers import non_finite_problem

_ADAPTERS: dict[Any, Any] = {}


def _adapter(annotation: Any) -> Any:
    adapter = _ADAPTERS.get(annotation)
    if adapter is None:
        from pydantic import TypeAdapter

        adapter = TypeAdapter(annotation)
        _ADAPTERS[annotation] = adapter
    return adapter


def coerce_parameter(value: Any, annotation: Any, *, step: str, name: str) -> Any:
    """Validate a JSON parameter value into its annotated type (``tuple``, models, ...)."""
    if annotation is Any or annotation is None:
        return value
    if (
        type(value) is annotation
        and annotation in (int, str, bool, float)
        and (annotation is not float or math.isfinite(value))
    ):
        return value
    from pydantic import ValidationError

    try:
        coerced = _adapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise StepInputTypeError(
            f"Step {step!r} parameter {name!r}: expected {_describe(annotation)}, got "
            f"{value!r} ({type(value).__name__}): {exc.errors()[0]['msg']}."
        ) from exc
    except Exception:
        return value
    # Strings such as "1e5000" or "nan" validate as floats; a number must be finite.
    problem = non_finite_problem(coerced) if type(coerced) is not str else None
    if problem is not None:
        raise StepInputTypeError(f"Step {step!r} parameter {name!r}: {problem}.")
    return coerced


def matches(value: Any, annotation: Any) -> bool:
    """Whether ``value`` fits ``annotation`` (classes, generics by origin, unions, Optional)."""
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is types.NoneType:
        return value is None
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return matches(value, typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    target = origin if origin is not None else annotation
    if not isinstance(target, type):
        return True  # TypeVar, Protocol without runtime support, ...: accept
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return True  # the numeric tower: an int is an acceptable float
    if target is complex and isinstance(value, int | float):
        return True
    try:
        return isinstance(value, target)
    except TypeError:
        return True


def check_input(value: Any, annotation: Any, *, step: str, name: str) -> None:
    """Refuse an artifact value that does not fit the input's annotation."""
    if not matches(value, annotation):
        raise StepInputTypeError(
            f"Step {step!r} input {name!r}: expected {_describe(annotation)}, "
            f"got a value of type {type(value).__module__}.{type(value).__qualname__}."
        )


def check_output(value: Any, annotation: Any, *, step: str, name: str) -> None:
    """Refuse a returned value that does not fit the output's annotation."""
    if not matches(value, annotation):
        raise StepOutputTypeError(
            f"Step {step!r} output {name!r}: the annotation says {_describe(annotation)}, "
            f"but the step returned a value of type "
            f"{type(value).__module__}.{type(value).__qualname__}."
        )


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")
