"""MkDocs hooks: generated reference pages and the check that the API reference is complete.

A page asks for generated content with a marker comment on a line of its own:

- ``<!-- headrace:cli-reference -->``: every ``headrace`` command (``cli_reference``);
- ``<!-- headrace:config-reference -->``: every configuration key (``config_reference``);
- ``<!-- headrace:rest-reference -->``: every REST operation and schema of the server's
  OpenAPI document (``rest_reference``; built without starting a server).

The Python API page must hold a ``::: dotted.path`` directive for every name in
``headrace.__all__`` that resolves to the very object ``headrace.<name>`` is; a missing
one fails the build (``mkdocs build --strict`` or not).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

API_PAGE = "reference/python-api.md"
MARKERS = {
    "<!-- headrace:cli-reference -->": "cli_reference",
    "<!-- headrace:config-reference -->": "config_reference",
    "<!-- headrace:rest-reference -->": "rest_reference",
}
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.M)


def _generator(module_name: str) -> Any:
    """A generator module of this directory, loaded by path (MkDocs hooks are no package)."""
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, HERE / f"{module_name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def _resolve(dotted: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def undocumented_public_names(markdown: str) -> list[str]:
    """Names of ``headrace.__all__`` that no ``:::`` directive of ``markdown`` documents."""
    import headrace

    documented: set[str] = set()
    for dotted in _DIRECTIVE.findall(markdown):
        name = dotted.rsplit(".", 1)[-1]
        if name not in headrace.__all__:
            continue
        try:
            same = _resolve(dotted) is getattr(headrace, name)
        except (ImportError, AttributeError):
            same = False
        if same:
            documented.add(name)
    return sorted(set(headrace.__all__) - documented)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Fill in generated sections; fail on an API page that misses a public name."""
    for marker, module_name in MARKERS.items():
        if marker in markdown:
            try:
                generated = _generator(module_name).render()
            except ValueError as error:
                raise PluginError(f"{page.file.src_uri}: {error}") from error
            markdown = markdown.replace(marker, generated)
    if page.file.src_uri == API_PAGE:
        missing = undocumented_public_names(markdown)
        if missing:
            raise PluginError(
                f"{API_PAGE} documents no '::: headrace...' entry for these names of "
                f"headrace.__all__: {', '.join(missing)}"
            )
    return markdown
