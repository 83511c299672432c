"""The reference pages are complete: every environment variable the code reads, every
public name, every configuration key and every command is documented."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCRIPTS = ROOT / "scripts" / "docs"
_VARIABLE = re.compile(r"HEADRACE_[A-Z0-9_]*[A-Z0-9]")


def _load(name: str) -> ModuleType:
    """A module of scripts/docs, loaded by path as the MkDocs hooks load it."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _variables_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        found.update(_VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_environment_variable_is_documented() -> None:
    page = (DOCS / "reference" / "environment-variables.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(HEADRACE_[A-Z0-9_]+)` \|", page, re.M))
    used = _variables_in_source()
    assert used, "no HEADRACE_ variable found in src: the pattern is wrong"
    assert used - documented == set(), "add these to docs/reference/environment-variables.md"
    assert documented - used == set(), "documented but no longer read by the code"


def test_every_public_name_has_an_api_entry() -> None:
    hooks = _load("hooks")
    page = (DOCS / "reference" / "python-api.md").read_text(encoding="utf-8")
    assert hooks.undocumented_public_names(page) == []
    # An entry only counts when it names the very object: removing one is noticed.
    without_client = page.replace("::: headrace.client.Client\n", "")
    assert hooks.undocumented_public_names(without_client) == ["Client"]
    wrong_object = page.replace("::: headrace.client.Client\n", "::: headrace.dsl.step.Client\n")
    assert hooks.undocumented_public_names(wrong_object) == ["Client"]


def test_configuration_reference_lists_every_key() -> None:
    reference = _load("config_reference")
    text = reference.render()
    for _heading, path, _where in reference.SECTIONS:
        model = reference._load(path)
        for key in model.model_fields:
            assert f"| `{key}` |" in text, f"{path}.{key}"


def test_an_undocumented_configuration_key_fails_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = _load("config_reference")

    class Undocumented(BaseModel):
        """A model whose key nobody described."""

        mystery: int = 0

    module = ModuleType("undocumented_config")
    module.Undocumented = Undocumented  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "undocumented_config", module)
    monkeypatch.setattr(
        reference, "SECTIONS", [("Test", "undocumented_config:Undocumented", "nowhere")]
    )
    with pytest.raises(ValueError, match=r"Undocumented\.mystery"):
        reference.render()


def test_cli_reference_has_every_command() -> None:
    reference = _load("cli_reference")
    text = reference.render()
    root = reference._root()
    ctx = root.context_class(root, info_name="headrace")
    paths: list[str] = []
    for command, command_ctx in reference._walk(root, ctx):
        assert command is not None
        paths.append(command_ctx.command_path)
    assert len(paths) > 40
    for path in paths:
        assert f"`{path}`\n" in text, path
    assert "headrace pipeline snapshot run" in paths


def test_rest_reference_has_every_operation_and_schema() -> None:
    reference = _load("rest_reference")
    document = reference.document()
    text = reference.render(document)
    operations = reference.operations(document)
    assert len(operations) > 40
    for method, path, _operation in operations:
        assert f"### `{method} {path}`\n" in text, (method, path)
    for name in document["components"]["schemas"]:
        assert f"### {name} {{#" in text, name
    assert "### `POST /api/v1/pipeline_snapshots/{name_or_id}/runs`" in text
    # Every link to a schema lands on a heading of the page.
    anchors = set(re.findall(r"\{#(schema-[^}]+)\}", text))
    assert set(re.findall(r"\]\(#(schema-[^)]+)\)", text)) <= anchors


def test_rest_reference_fails_on_an_empty_document() -> None:
    reference = _load("rest_reference")
    with pytest.raises(ValueError, match="no operations"):
        reference.render({"paths": {}})
