"""Every Python and shell code block of the docs runs, so the docs cannot drift from the code.

Each page runs in its own fresh project (a temporary directory after ``headrace init``),
its blocks in order, so a block may build on the ones above it:

- a block with a ``title="NAME"`` (```` ```python title="steps.py" ````, also ``yaml``) is
  written to that file in the project, not run;
- any other ``python`` block runs as a script (``python _block_N.py``);
- ``sh``, ``bash`` and ``shell`` blocks run in ``bash -e`` with the ``headrace`` command
  of this environment first on ``PATH``;
- ``<!-- excerpt -->`` on the line before a block skips it (part of a larger program, or
  something that cannot run here, such as ``pip install``);
- ``<!-- fails -->`` before a block expects it to fail (it shows an error message).

Blocks of other languages (``text``, ``yaml`` without a title, ...) are only shown.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNABLE = {"python", "sh", "bash", "shell"}
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+)(?P<info>[^\n`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
TIMEOUT_S = 300  # a shared, loaded machine: a server page starts several processes


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    title: str | None
    marker: str | None  # "excerpt", "fails" or None
    code: str

    @property
    def runs(self) -> bool:
        return self.marker != "excerpt" and (self.title is not None or self.language in RUNNABLE)


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the marker comment above each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        info = match.group("info").strip()
        language = info.split()[0].lower() if info else ""
        title = _TITLE.search(info)
        previous = next((text.strip() for text in reversed(lines[:index]) if text.strip()), "")
        marker_match = re.fullmatch(r"<!--\s*(excerpt|fails)\s*-->", previous)
        start = index
        indent = len(match.group("indent"))
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(match.group("fence")):
            body.append(lines[index][indent:])
            index += 1
        index += 1
        found.append(
            Block(
                page=str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
                line=start + 1,
                language=language,
                title=title.group("title") if title else None,
                marker=marker_match.group(1) if marker_match else None,
                code="\n".join(body) + "\n",
            )
        )
    return found


def _pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if any(b.runs for b in blocks_of(path)))


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEADRACE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if part
    )
    # Blocks start many short processes: let them reuse compiled bytecode of our sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "120"
    return env


def _run(block: Block, number: int, project: Path, env: dict[str, str]) -> None:
    if block.title is not None:
        target = project / block.title
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
        return
    if block.language == "python":
        script = project / f"_block_{number}.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, script.name]
    else:
        command = ["bash", "-e", "-c", block.code]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    where = f"{block.page}:{block.line} ({block.language} block)"
    output = f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    if block.marker == "fails":
        assert done.returncode != 0, f"{where} was expected to fail but passed\n{output}"
    else:
        assert done.returncode == 0, f"{where} failed with exit code {done.returncode}\n{output}"


@pytest.mark.parametrize("page", _pages(), ids=lambda path: str(path.relative_to(DOCS)))
def test_page_code_blocks_run(page: Path, tmp_path: Path) -> None:
    """The page's runnable blocks run, in order, in a fresh project."""
    from headrace.store.factory import forget_stores, init_repository

    project = tmp_path / "project"
    project.mkdir()
    init_repository(project)
    forget_stores()
    env = _environment()
    for number, block in enumerate(blocks_of(page)):
        if block.runs:
            _run(block, number, project, env)


def test_markers_are_parsed(tmp_path: Path) -> None:
    """The extractor sees titles, excerpt and failure markers and indented fences."""
    sample = tmp_path / "sample.md"
    text = (
        "Intro\n\n<!-- excerpt -->\n```python\nimport nothing_here\n```\n\n"
        '```python title="steps.py"\nX = 1\n```\n\n<!-- fails -->\n```sh\nfalse\n```\n\n'
        "1. A list item\n\n    ```bash\n    echo hi\n    ```\n"
    )
    sample.write_text(text, encoding="utf-8")
    blocks = blocks_of(sample)
    assert [(b.language, b.title, b.marker, b.runs) for b in blocks] == [
        ("python", None, "excerpt", False),
        ("python", "steps.py", None, True),
        ("sh", None, "fails", True),
        ("bash", None, None, True),
    ]
    assert blocks[3].code == "echo hi\n"
