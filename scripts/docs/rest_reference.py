"""The REST API reference page, generated from the server's OpenAPI document.

The document comes from ``create_app(ServerSettings()).openapi()``: building it walks
the routes and their pydantic models only, so no server starts, no database is opened
and nothing leaves the machine (``make docs`` stays offline). The page has one section
per tag (resource), one entry per operation (method, path, who may call it, its
parameters, its body and its answers) and, at the end, the fields of every schema the
operations name. Nothing is hand-written, so a new route or field appears by itself.
"""

from __future__ import annotations

import warnings
from typing import Any

REF_PREFIX = "#/components/schemas/"
METHODS = ("get", "post", "put", "patch", "delete")
# Statuses every operation lists (the server's error shape, see server/openapi.py): the
# page says so once instead of on every operation.
COMMON_ERRORS = ("400", "401", "403", "404", "409", "413", "422", "429")


def document() -> dict[str, Any]:
    """The server's OpenAPI document, built without starting it."""
    from headrace.server.app import create_app
    from headrace.server.settings import ServerSettings

    with warnings.catch_warnings():
        # pydantic notes field metadata FastAPI puts on body parameters; not ours to fix.
        warnings.simplefilter("ignore")
        return create_app(ServerSettings()).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every ``(METHOD, path, operation)`` of the document, in document order."""
    found = []
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append((method.upper(), path, item[method]))
    return found


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return "schema-" + name.lower().replace("_", "-")


def _type(schema: dict[str, Any]) -> str:
    """A short, readable type of a JSON schema (``list[RunResponse]``, ``string | null``)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF_PREFIX)
        return f"[{name}](#{_anchor(name)})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " \\| ".join(_type(part) for part in schema[key])
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map[string, {_type(schema['additionalProperties'])}]"
    if kind is None:
        return "any"
    text = str(kind)
    if "format" in schema:
        text += f" ({schema['format']})"
    return text


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("minLength", "length >="),
        ("maxLength", "length <="),
    ):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "default" in schema and schema["default"] is not None:
        parts.append(f"default `{schema['default']}`")
    return ", ".join(parts)


def _who(operation: dict[str, Any]) -> str:
    if operation.get("security"):
        return "credentials (bearer token or `X-API-Key`)"
    return "anyone (no credentials)"


def _body(operation: dict[str, Any]) -> str:
    body = operation.get("requestBody")
    if not body:
        return ""
    lines = []
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        lines.append(f"Body (`{media}`): {_type(schema)}")
    return "\n\n".join(lines)


def _answers(operation: dict[str, Any]) -> str:
    rows = []
    for status, answer in operation.get("responses", {}).items():
        if status in COMMON_ERRORS:
            continue
        content = answer.get("content", {})
        schema = next(iter(content.values()), {}).get("schema") if content else None
        shape = _type(schema) if schema else ""
        rows.append(f"`{status}` {_cell(answer.get('description', ''))} {shape}".strip())
    return "Answers: " + "; ".join(rows) if rows else ""


def _parameters(operation: dict[str, Any]) -> list[str]:
    params = operation.get("parameters", [])
    if not params:
        return []
    lines = ["| parameter | in | type | required | notes |", "|---|---|---|---|---|"]
    for param in params:
        schema = param.get("schema", {})
        notes = " ".join(filter(None, [param.get("description", ""), _limits(schema)]))
        lines.append(
            f"| `{param['name']}` | {param['in']} | {_type(schema)} | "
            f"{'yes' if param.get('required') else 'no'} | {_cell(notes)} |"
        )
    return lines


def _operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method} {path}`", ""]
    summary = operation.get("summary", "")
    description = " ".join(operation.get("description", "").split()).replace("``", "`")
    lines += [f"**{summary}.** {description}".strip(), "", f"Who: {_who(operation)}.", ""]
    params = _parameters(operation)
    if params:
        lines += [*params, ""]
    for part in (_body(operation), _answers(operation)):
        if part:
            lines += [part, ""]
    return lines


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{#{_anchor(name)}}}", ""]
    description = " ".join(schema.get("description", "").split()).replace("``", "`")
    if description:
        lines += [description, ""]
    if "enum" in schema:
        lines += ["One of: " + ", ".join(f"`{value}`" for value in schema["enum"]) + ".", ""]
        return lines
    properties = schema.get("properties", {})
    if not properties:
        lines += [f"Type: {_type(schema)}.", ""]
        return lines
    required = set(schema.get("required", []))
    lines += ["| field | type | required | notes |", "|---|---|---|---|"]
    for field, spec in properties.items():
        notes = " ".join(filter(None, [spec.get("description", ""), _limits(spec)]))
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | "
            f"{_cell(notes.replace('``', '`'))} |"
        )
    return [*lines, ""]


def render(doc: dict[str, Any] | None = None) -> str:
    """The Markdown of the reference: operations by tag, then schemas."""
    doc = doc if doc is not None else document()
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for method, path, operation in operations(doc):
        tag = (operation.get("tags") or ["other"])[0]
        by_tag.setdefault(tag, []).append((method, path, operation))
    if not by_tag:
        raise ValueError("the server's OpenAPI document has no operations")
    info = doc.get("info", {})
    lines = [
        f"Generated from the OpenAPI document of headrace {info.get('version', '')} "
        f"({len(operations(doc))} operations).",
        "",
    ]
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for method, path, operation in by_tag[tag]:
            lines += _operation(method, path, operation)
    schemas = doc.get("components", {}).get("schemas", {})
    lines += ["## Schemas", ""]
    for name in sorted(schemas):
        lines += _schema(name, schemas[name])
    return "\n".join(lines)
