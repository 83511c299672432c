"""A snapshot's run configuration template as commented YAML, and short names for the
JSON Schema types of its parameters.

Below the CLI so that the CLI, the server and the dashboard render the same text.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.models import SnapshotResponse

_PLAIN_YAML_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def schema_type(schema: dict[str, Any]) -> str:
    """A short name for the type a JSON Schema allows (``integer``, ``array[string]``)."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array[{schema_type(schema['items'])}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object[{schema_type(schema['additionalProperties'])}]"
    if kind:
        return str(kind)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(schema_type(option) for option in schema[key])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return "any"


def config_template_yaml(snapshot: SnapshotResponse) -> str:
    """The snapshot's run configuration template as commented YAML.

    Each step parameter gets a comment with its type and description, so the file can be
    edited without the code at hand. The comments are added line by line; if that ever
    changes what the YAML means, the plain dump is returned instead, so the file always
    loads back as the template.
    """
    import yaml

    from headrace.config.yaml_loader import load_yaml_text

    data = snapshot.config_template.model_dump(mode="json", exclude_defaults=True)
    label = one_line(snapshot.name or snapshot.id)
    header = [
        f"# Run configuration of snapshot {label!r} (pipeline {snapshot.pipeline_name!r}).",
        "# Edit the pipeline or step parameters, then run:",
        f"#   headrace pipeline snapshot run {label} --config THIS_FILE",
        "# Steps and parameters left out keep the snapshot's values; new pipeline",
        "# parameters compile the pipeline again from the snapshot's code.",
    ]
    body = _commented_parameters(data.get("parameters", {}), snapshot.parameter_schema)
    if "steps" in data or not body:
        body += _commented_steps(data.get("steps", {}), snapshot.parameter_schema)
    text = "\n".join(header + body) + "\n"
    if load_yaml_text(text, "the generated template") != data:
        return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False)
    return text


def _commented_parameters(parameters: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The pipeline's ``parameters:``, each with its type and description as a comment."""
    import yaml

    if not parameters:
        return []
    properties = schema.get("properties", {}).get("parameters", {}).get("properties", {})
    lines = ["parameters:"]
    for name, value in parameters.items():
        lines.append(f"  # {_parameter_comment(properties.get(name, {}))}")
        lines += _indented(yaml.safe_dump({name: value}, sort_keys=False), 2)
    return lines


def _commented_steps(steps: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    import yaml

    if not steps:
        return ["steps: {}"]
    step_schemas = schema.get("properties", {}).get("steps", {}).get("properties", {})
    lines = ["steps:"]
    for step_name, step_config in steps.items():
        step_schema = step_schemas.get(step_name, {})
        if step_schema.get("description"):
            lines.append(f"  # {one_line(step_schema['description'])}")
        if not step_config:
            lines.append(f"  {_yaml_key(step_name)}: {{}}")
            continue
        lines.append(f"  {_yaml_key(step_name)}:")
        step_config = dict(step_config)
        parameters = step_config.pop("parameters", {})
        if parameters:
            lines.append("    parameters:")
            properties = step_schema.get("properties", {})
            for name, value in parameters.items():
                lines.append(f"      # {_parameter_comment(properties.get(name, {}))}")
                lines += _indented(yaml.safe_dump({name: value}, sort_keys=False), 6)
        if step_config:  # settings a template does not make today, kept for completeness
            lines += _indented(yaml.safe_dump(step_config, sort_keys=False), 4)
    return lines


def _parameter_comment(schema: dict[str, Any]) -> str:
    description = one_line(schema.get("description"))
    kind = schema_type(schema)
    return f"{kind}: {description}" if description else kind


def _indented(text: str, width: int) -> list[str]:
    return [" " * width + line for line in text.splitlines()]


def _yaml_key(key: str) -> str:
    # JSON strings are YAML strings, so anything unusual is quoted the JSON way.
    return key if _PLAIN_YAML_KEY.fullmatch(key) else json.dumps(key)


def one_line(text: str | None) -> str:
    """``text`` with its whitespace (newlines too) collapsed and control characters
    escaped, for one table cell or comment (the YAML template is written raw)."""
    from headrace.utils.names import printable

    return printable(" ".join(text.split())) if text else ""
