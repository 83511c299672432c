"""Read YAML configuration files; errors name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from headrace.exceptions import ConfigurationError

M = TypeVar("M", bound=BaseModel)

Location = tuple[str | int, ...]


def _line_index(node: Any, path: Location, index: dict[Location, int]) -> None:
    """Record the 1-based line of every key and item below a composed YAML node."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index[(*path, i)] = item.start_mark.line + 1
            _line_index(item, (*path, i), index)


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict[Location, int]]:
    """Load a YAML mapping and the line number of each key in it."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read configuration file {str(file)!r}: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{file}{where}: not valid YAML: {exc}") from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{file}, line 1: the top level must be a mapping of options, "
            f"got {type(data).__name__}."
        )
    index: dict[Location, int] = {}
    _line_index(node, (), index)
    return data, index


def _line_of(loc: Location, index: dict[Location, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = index.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


def validate_yaml(model: type[M], path: str | Path) -> M:
    """Load ``path`` as YAML and validate it into ``model``.

    Raises:
        ConfigurationError: one line per problem: ``file, line N, key a.b: message``.
    """
    data, index = read_yaml(path)
    return validate_data(model, data, index, path)


def validate_data(
    model: type[M], data: dict[str, Any], index: dict[Location, int], path: str | Path
) -> M:
    """Validate YAML ``data`` read from ``path`` into ``model``; errors name lines and keys.

    Raises:
        ConfigurationError: one line per problem: ``file, line N, key a.b: message``.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(loc, index)
            key = ".".join(str(p) for p in loc) or "(top level)"
            where = f"line {line}, " if line else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{path}, {where}key {key!r}: {message}")
        raise ConfigurationError("Invalid configuration file:\n  " + "\n  ".join(problems)) from exc
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
