"""Read a step function's inputs and outputs from its signature and source.

Output rules: no annotation or any single type gives one output named ``output``;
``-> None`` gives none; ``Annotated[T, "name"]`` names an output; a function whose every
``return`` is a tuple literal (``return a, b``) has one output per element, named
``output_0``, ``output_1``, ... unless ``Tuple[Annotated[...], ...]`` names them.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from types import NoneType
from typing import Annotated, Any, get_args, get_origin

from headrace.config.artifact_config import ArtifactConfig
from headrace.dsl.source_text import definition_source
from headrace.exceptions import StepInterfaceError
from headrace.utils.records import FrozenRecord

SINGLE_OUTPUT_NAME = "output"


class InputInfo(FrozenRecord):
    """One parameter of a step function."""

    __slots__ = ("annotated", "annotation", "default", "has_default", "name")
    name: str
    annotation: Any  # ``Any`` when unannotated
    annotated: bool
    has_default: bool
    default: Any

    def __init__(
        self, name: str, annotation: Any, annotated: bool, has_default: bool, default: Any = None
    ) -> None:
        self._init(
            name=name,
            annotation=annotation,
            annotated=annotated,
            has_default=has_default,
            default=default,
        )


class OutputInfo(FrozenRecord):
    """One output of a step function (``config``: its ``ArtifactConfig``, if annotated so)."""

    __slots__ = ("annotated", "annotation", "config", "custom_name", "name")
    name: str
    annotation: Any
    annotated: bool
    custom_name: bool
    config: ArtifactConfig | None

    def __init__(
        self,
        name: str,
        annotation: Any,
        annotated: bool,
        custom_name: bool = False,
        config: ArtifactConfig | None = None,
    ) -> None:
        self._init(
            name=name,
            annotation=annotation,
            annotated=annotated,
            custom_name=custom_name,
            config=config,
        )


class StepSignature(FrozenRecord):
    """Inputs and outputs of a step function."""

    __slots__ = ("inputs", "outputs")
    inputs: dict[str, InputInfo]
    outputs: dict[str, OutputInfo]

    def __init__(self, inputs: dict[str, InputInfo], outputs: dict[str, OutputInfo]) -> None:
        self._init(inputs=inputs, outputs=outputs)


def _strip_annotated(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[T, "name", ...]`` -> ``(T, "name")``; anything else -> ``(annotation, None)``."""
    base, name, _ = _annotation_parts(annotation)
    return base, name


def _annotation_parts(annotation: Any) -> tuple[Any, str | None, ArtifactConfig | None]:
    """``Annotated[T, "name" | ArtifactConfig(...)]`` -> ``(T, name, config)``."""
    if get_origin(annotation) is not Annotated:
        return annotation, None, None
    base, *extras = get_args(annotation)
    names = [e for e in extras if isinstance(e, str)]
    configs = [e for e in extras if isinstance(e, ArtifactConfig)]
    for extra in extras:  # other markers with a name (ArtifactConfig included)
        name = getattr(extra, "name", None)
        if isinstance(name, str):
            names.append(name)
    return base, (names[0] if names else None), (configs[0] if configs else None)


def _type_hints(func: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward refs: fall back to raw annotations
        return dict(getattr(func, "__annotations__", {}))


def _return_tuple_length(func: Any) -> int | None:
    """Length of the tuple literal every ``return`` of ``func`` returns, else ``None``."""
    try:
        source = textwrap.dedent(definition_source(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None
    )
    if node is None:
        return None
    lengths: set[int] = set()
    non_tuple = False
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue  # returns of nested definitions are not ours
        if isinstance(current, ast.Return) and current.value is not None:
            if isinstance(current.value, ast.Tuple):
                lengths.add(len(current.value.elts))
            else:
                non_tuple = True
        stack.extend(ast.iter_child_nodes(current))
    if non_tuple or len(lengths) != 1:
        return None
    return lengths.pop()


def _is_fixed_tuple(annotation: Any) -> bool:
    origin = get_origin(annotation)
    args = get_args(annotation)
    return origin is tuple and bool(args) and Ellipsis not in args


def inspect_outputs(func: Any, step_name: str) -> dict[str, OutputInfo]:
    """The outputs of a step function (see the module docstring for the rules)."""
    hints = _type_hints(func)
    annotated = "return" in hints
    annotation = hints.get("return", Any)
    if annotated and annotation in (None, NoneType):
        return {}
    base, custom, config = _annotation_parts(annotation)
    # The return statements only decide the outputs of an unannotated function or of one
    # annotated with a fixed-length tuple; reading them means reading the source.
    tuple_length = None
    if not annotated or _is_fixed_tuple(base):
        tuple_length = _return_tuple_length(func)
    if tuple_length is not None:
        element_types = list(get_args(base)) if annotated else [Any] * tuple_length
        if len(element_types) != tuple_length:
            raise StepInterfaceError(
                f"Step {step_name!r} returns a tuple of {tuple_length} values but its return "
                f"annotation declares {len(element_types)}."
            )
        outputs: dict[str, OutputInfo] = {}
        for i, element in enumerate(element_types):
            element_base, element_name, config = _annotation_parts(element)
            name = element_name or f"{SINGLE_OUTPUT_NAME}_{i}"
            if name in outputs:
                raise StepInterfaceError(f"Step {step_name!r} has two outputs named {name!r}.")
            outputs[name] = OutputInfo(
                name, element_base, annotated, element_name is not None, config
            )
        return outputs
    name = custom or SINGLE_OUTPUT_NAME
    return {name: OutputInfo(name, base, annotated, custom is not None, config)}


def inspect_inputs(func: Any, step_name: str) -> dict[str, InputInfo]:
    """The parameters of a step function; ``*args`` and ``**kwargs`` are refused."""
    hints = _type_hints(func)
    inputs: dict[str, InputInfo] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise StepInterfaceError(
                f"Step {step_name!r}: parameter {param.name!r} is *args or **kwargs; steps need "
                "named parameters so every input can be tracked."
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise StepInterfaceError(
                f"Step {step_name!r}: parameter {param.name!r} is positional-only; steps need "
                "parameters that can be passed by name."
            )
        annotated = param.name in hints
        annotation, _ = _strip_annotated(hints.get(param.name, Any))
        has_default = param.default is not inspect.Parameter.empty
        inputs[param.name] = InputInfo(
            param.name,
            annotation,
            annotated,
            has_default,
            param.default if has_default else None,
        )
    return inputs


def inspect_step(func: Any, step_name: str) -> StepSignature:
    """Inputs and outputs of ``func``."""
    return StepSignature(inspect_inputs(func, step_name), inspect_outputs(func, step_name))
