"""``headrace clean``: leftovers of interrupted writes are listed, then deleted with
--yes; nothing a record points to is ever touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from headrace import pipeline, step
from headrace.cli.main import app


@step
def make() -> list[int]:
    return [1, 2, 3]


@pipeline(enable_cache=False)
def making() -> None:
    make()


@pytest.mark.usefixtures("artifacts_as_files")  # checks the files themselves
def test_clean_lists_then_deletes_only_unrecorded_files(repo: Path) -> None:
    run = making()
    output = run.steps["make"].output
    run_directory = Path(output.uri).parent
    temporary = run_directory / "make.output.tmp-0123456789ab"
    temporary.mkdir()
    (temporary / "data.json").write_text("[1, 2")
    unrecorded = repo / ".headrace" / "artifacts" / "runs" / "gone-run" / "make.output"
    unrecorded.mkdir(parents=True)
    (unrecorded / "data.json").write_text("[]")
    archive_temporary = repo / ".headrace" / "artifacts" / "code" / "abc.tar.gz.tmp-999999999"
    archive_temporary.parent.mkdir(parents=True, exist_ok=True)
    archive_temporary.write_bytes(b"partial")

    runner = CliRunner()
    listed = runner.invoke(app, ["clean"])
    assert listed.exit_code == 0, listed.output
    assert "3 leftover(s)" in listed.output
    assert temporary.exists() and unrecorded.exists()  # listing deletes nothing

    deleted = runner.invoke(app, ["clean", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert not temporary.exists() and not unrecorded.exists() and not archive_temporary.exists()
    assert output.load() == [1, 2, 3]  # what a record points to is kept
    again = runner.invoke(app, ["clean"])
    assert "Nothing to clean" in again.output
