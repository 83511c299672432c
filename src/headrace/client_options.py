"""Keyword arguments ZenML users pass to ``Client`` methods, accepted or clearly refused.

Code written for ZenML passes options headrace has no use for (``hydrate=``: responses
are always complete here; ``project=``: one store holds everything) and list filters in
ZenML's spelling (``unlisted=True``, ``logical_operator="or"``, ``"contains:value"``,
``"oneof:[...]"``). Those are translated or accepted here (the store applies the
operators, see ``headrace.models.filters``); anything else is a :class:`ConfigurationError`
naming the argument, the closest supported one and the full list, never a raw pydantic
traceback.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from headrace.exceptions import ConfigurationError
from headrace.utils.suggest import unknown_key_message
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()

F = TypeVar("F", bound=BaseModel)

# Options that change how much of a response ZenML loads; headrace loads it all.
NO_EFFECT = frozenset({"hydrate", "include_full_metadata", "include_config_schema"})
# headrace has one namespace per store: a project is accepted, with a note once.
PROJECT = "project"
# ZenML's list operator, spelled ``in:a,b`` here.
ONE_OF = "oneof:"
_project_noted: set[str] = set()


def method_options(method: str, options: dict[str, Any], accepted: frozenset[str]) -> None:
    """Accept ZenML's options of a get method (``hydrate``, ``project``, ...) or refuse.

    Raises:
        ConfigurationError: an option neither headrace nor ZenML's accepted set knows.
    """
    for key, value in options.items():
        if key in NO_EFFECT or key in accepted:
            continue
        if key == PROJECT:
            _note_project(value)
            continue
        valid = [*accepted, *NO_EFFECT, PROJECT]
        raise ConfigurationError(
            f"Client.{method}(): {unknown_key_message('argument', key, valid)}."
        )


def build_filter(model: type[F], method: str, filters: dict[str, Any]) -> F:
    """A filter model from keyword filters in headrace's or ZenML's spelling.

    Raises:
        ConfigurationError: an unknown filter (naming the closest one), an operator
            headrace does not support, or a value of the wrong type.
    """
    values: dict[str, Any] = {}
    for key, value in filters.items():
        if key in NO_EFFECT:
            continue
        if key == PROJECT:
            _note_project(value)
            continue
        if key == "logical_operator":
            value = str(getattr(value, "value", value)).lower()
        if key == "tags" and "tag" in model.model_fields:
            key, value = "tag", _one_tag(method, value)
        if key not in model.model_fields:
            raise ConfigurationError(
                f"Client.{method}(): {unknown_key_message('filter', key, model.model_fields)}."
            )
        values[key] = _plain_value(method, key, value)
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigurationError(f"Client.{method}(): invalid filter value: {problems}.") from None


def _plain_value(method: str, key: str, value: Any) -> Any:
    """``"equals:x"`` is ``"x"``; ``"oneof:[...]"`` (a JSON list) is ``"in:a,b"``; the
    other operators (``contains:``, ``gte:`` ...) go to the store as they are."""
    if not isinstance(value, str):
        return value
    if value.startswith("equals:"):
        return value.removeprefix("equals:")
    if value.startswith(ONE_OF):
        import json

        try:
            items = json.loads(value.removeprefix(ONE_OF))
        except ValueError:
            items = None
        if not isinstance(items, list) or any("," in str(item) for item in items):
            raise ConfigurationError(
                f"Client.{method}(): {key}={value!r}: 'oneof:' takes a JSON list of values "
                'without commas, e.g. oneof:["a", "b"].'
            )
        return "in:" + ",".join(str(item) for item in items)
    return value


def _one_tag(method: str, value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        items = list(value)
        if len(items) != 1:
            raise ConfigurationError(
                f"Client.{method}(): tags={items!r}: headrace filters by one tag at a time "
                "(tag='name')."
            )
        return items[0]
    return value


def _note_project(value: Any) -> None:
    if value is None:
        return
    name = str(getattr(value, "name", value))
    if name not in _project_noted:
        _project_noted.add(name)
        logger.info(
            "headrace has no projects: everything is in the store HEADRACE_STORE_URL or the "
            "repository points to, so project=%r changes nothing.",
            name,
        )
