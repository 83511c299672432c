"""Read YAML configuration files; errors name the file, the line and the key."""

from __future__ import annotations

import re
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


# Configuration files are small and shallow. These limits refuse hostile ones (nested
# aliases that expand to billions of nodes, thousands of nesting levels) before anything is
# built from them, in one streaming pass over the parser's events.
MAX_DEPTH = 100
MAX_NODES = 1_000_000


def _safe_loader() -> Any:
    """PyYAML's safe loader, on libyaml when it is built in (many times faster on big files)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_FLOW_SIGNIFICANT = re.compile(r"""[\[\]{}'"#\n\\]""")


def _flow_depth(text: str) -> tuple[int, int]:
    """The deepest ``[``/``{`` nesting outside quotes and comments, and its line.

    PyYAML's scanner reads a whole flow collection before it yields the first event, in
    time that grows with the square of its depth (5,000 levels take seconds), so flow
    nesting is measured on the characters first. Only quote and comment characters and
    brackets are looked at.
    """
    depth = deepest = 0
    line = deepest_line = 1
    quote = ""
    comment = escaped = False
    for match in _FLOW_SIGNIFICANT.finditer(text):
        char = match.group()
        if char == "\n":
            line += 1
            comment = False
            continue
        if comment:
            continue
        if quote:
            if quote == '"' and char == "\\":
                escaped = not escaped
                continue
            if char == quote and not escaped:
                quote = ""
            escaped = False
            continue
        if char in "'\"":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}" and depth:
            depth -= 1
    return deepest, deepest_line


def _line(event: Any) -> int:
    """The 1-based line an event starts on (0 when the parser gave no position)."""
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def check_yaml_limits(text: str, file: str | Path) -> None:
    """Refuse YAML deeper than ``MAX_DEPTH`` or larger than ``MAX_NODES`` once aliases
    are expanded.

    Every alias counts as the whole subtree it stands for, so a few hundred bytes of
    nested aliases ("billion laughs") are refused as the billions of nodes they mean.

    Raises:
        ConfigurationError: names the file, the line and the limit that was exceeded.
    """
    import yaml

    depth, line = _flow_depth(text)
    if depth > MAX_DEPTH:
        raise ConfigurationError(
            f"{file}, line {line}: the YAML nests deeper than {MAX_DEPTH} levels; "
            "refusing to load it."
        )
    anchored: dict[str, int] = {}  # anchor -> nodes it stands for, expanded
    starts: list[tuple[str | None, int]] = []  # open collections: anchor, count at start
    expanded = 0
    try:
        for event in yaml.parse(text, Loader=_safe_loader()):
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, began = starts.pop()
                if anchor is not None:
                    anchored[anchor] = expanded - began
                continue
            if isinstance(event, yaml.AliasEvent):
                expanded += anchored.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
                expanded += 1
                if isinstance(event, yaml.CollectionStartEvent):
                    starts.append((event.anchor, expanded - 1))
                    if len(starts) > MAX_DEPTH:
                        raise ConfigurationError(
                            f"{file}, line {_line(event)}: the YAML nests deeper "
                            f"than {MAX_DEPTH} levels; refusing to load it."
                        )
                elif event.anchor is not None:
                    anchored[event.anchor] = 1
            if expanded > MAX_NODES:
                raise ConfigurationError(
                    f"{file}, line {_line(event)}: the YAML expands to more than "
                    f"{MAX_NODES:,} values (aliases counted in full); refusing to load it."
                )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{file}{where}: not valid YAML: {exc}") from exc


def load_yaml_text(text: str, file: str | Path) -> Any:
    """``yaml.safe_load`` of ``text`` within the limits of :func:`check_yaml_limits`.

    Every YAML headrace reads from outside goes through this.
    """
    import yaml

    check_yaml_limits(text, file)
    try:
        return yaml.load(text, Loader=_safe_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{file}{where}: not valid YAML: {exc}") from exc


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict[Location, int]]:
    """Load a YAML mapping and the line number of each key in it."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read configuration file {str(file)!r}: {exc}") from exc
    data = load_yaml_text(text, file)
    try:
        node = yaml.compose(text, Loader=_safe_loader())
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
