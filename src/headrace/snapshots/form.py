"""The fields of a snapshot's Run form: one per pipeline and step parameter, with its
type, default and description, read from the parameter schema and the configuration
template (no user code is imported).

The dashboard draws one labelled input per field; ``path`` is where the value goes in a
run configuration (``steps.trainer.parameters.learning_rate``), which is also how the
server's validation problems name it, so a refusal can be shown next to its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headrace.snapshots.template import schema_type

if TYPE_CHECKING:
    from headrace.models import SnapshotResponse

_SIMPLE = {"integer", "number", "string", "boolean"}


@dataclass(frozen=True)
class FormField:
    """One parameter of a snapshot as an input of the Run form.

    Attributes:
        path: where the value goes in a run configuration, dotted.
        step: the step's invocation id, or ``None`` for a pipeline parameter.
        name: the parameter's name.
        type: a short type name (``integer``, ``array[string]``, ``number | null``).
        input: how to edit it: ``integer``, ``number``, ``string``, ``boolean``, ``enum``
            or ``json`` (any other type, written as JSON).
        has_default: whether the snapshot gives it a value.
        default: that value.
        required: whether a run must give a value (no default).
        description: from the function's docstring.
        choices: the allowed values of an ``enum``.
        schema: the parameter's JSON Schema, for the browser's checks.
    """

    path: str
    step: str | None
    name: str
    type: str
    input: str
    has_default: bool
    default: Any
    required: bool
    description: str | None
    choices: list[Any] | None
    schema: dict[str, Any]


def input_kind(schema: dict[str, Any]) -> str:
    """How a value of ``schema`` is edited in a form."""
    if isinstance(schema.get("enum"), list):
        return "enum"
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _SIMPLE:
        return kind
    return "json"


def form_fields(snapshot: SnapshotResponse) -> list[FormField]:
    """Every parameter of ``snapshot``: the pipeline's first, then each step's."""
    schema = snapshot.parameter_schema.get("properties", {})
    template = snapshot.config_template
    fields: list[FormField] = []
    pipeline_schema = schema.get("parameters", {})
    values = template.parameters or {}
    for name, prop in pipeline_schema.get("properties", {}).items():
        fields.append(_field(f"parameters.{name}", None, name, prop, values, pipeline_schema))
    step_schemas = schema.get("steps", {}).get("properties", {})
    for step_name, step_schema in step_schemas.items():
        step_config = template.steps.get(step_name)
        step_values = dict(step_config.parameters) if step_config is not None else {}
        for name, prop in step_schema.get("properties", {}).items():
            path = f"steps.{step_name}.parameters.{name}"
            fields.append(_field(path, step_name, name, prop, step_values, step_schema))
    return fields


def _field(
    path: str,
    step: str | None,
    name: str,
    prop: dict[str, Any],
    values: dict[str, Any],
    owner: dict[str, Any],
) -> FormField:
    has_default = name in values or "default" in prop
    default = values[name] if name in values else prop.get("default")
    return FormField(
        path=path,
        step=step,
        name=name,
        type=schema_type(prop),
        input=input_kind(prop),
        has_default=has_default,
        default=default,
        required=name in owner.get("required", []) and not has_default,
        description=prop.get("description"),
        choices=list(prop["enum"]) if isinstance(prop.get("enum"), list) else None,
        schema=prop,
    )
