"""Pipelines whose small outputs are kept inline in their records: nothing in the
artifact store, loads and previews from the record, caching across inline and file
versions, a damaged record refused (and never reused from the cache), ``headrace clean``
and ``headrace artifact show``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headrace import pipeline, save_artifact, step
from headrace.artifacts.inline import encode_files
from headrace.artifacts.preview import preview_artifact_version
from headrace.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from headrace.cli.main import app
from headrace.client import Client
from headrace.exceptions import ArtifactIntegrityError
from headrace.models import ArtifactVersionResponse

CALLS: list[str] = []


@step(enable_cache=False)
def source() -> int:
    CALLS.append("source")
    return 20


@step
def double(x: int) -> dict[str, int]:
    CALLS.append("double")
    return {"value": 2 * x}


@step
def big(d: dict[str, int]) -> str:
    CALLS.append("big")
    return "x" * (20 * 1024) + str(d["value"])


@pipeline(enable_cache=True)
def chain() -> None:
    big(double(source()))


@pipeline(enable_cache=False)
def from_version(version: ArtifactVersionResponse) -> None:
    big(version)


def _outputs(run_name: str) -> dict[str, ArtifactVersionResponse]:
    run = Client().get_pipeline_run(run_name)
    return {name: s.outputs["output"][0] for name, s in run.steps.items()}


def _files(repo: Path) -> list[str]:
    root = repo / ".headrace" / "artifacts" / "runs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_small_outputs_live_in_the_record_large_ones_in_the_store(repo: Path) -> None:
    run = chain()
    outputs = _outputs(run.name)
    assert outputs["source"].is_inline and outputs["double"].is_inline
    assert not outputs["big"].is_inline
    # Only the large output has files; the small ones made no directory at all.
    assert _files(repo) == [f"{run.id}/big.output/data.json"]
    assert not Path(outputs["double"].uri).exists()
    assert Path(outputs["double"].uri).parent == Path(outputs["big"].uri).parent
    assert outputs["double"].load() == {"value": 40}
    assert run.steps["source"].output.load() == 20
    assert outputs["big"].load().endswith("40")
    preview = preview_artifact_version(outputs["double"], Client().store)
    assert preview.kind == "json" and '"value": 40' in preview.text


def test_caching_works_across_inline_and_file_versions(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")
    CALLS.clear()
    first = chain()
    assert not any(v.is_inline for v in _outputs(first.name).values())
    monkeypatch.delenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES")
    second = chain()
    # ``source`` ran again and was kept inline, with the hash its files had: the
    # downstream steps' cache keys are unchanged.
    assert CALLS == ["source", "double", "big", "source"]
    assert _outputs(second.name)["source"].is_inline
    assert (
        _outputs(second.name)["source"].content_hash == _outputs(first.name)["source"].content_hash
    )
    assert second.steps["double"].status.value == "cached"
    assert second.steps["big"].status.value == "cached"
    # And the other way round: inline versions are reused by a run writing files.
    CALLS.clear()
    third = chain()
    monkeypatch.setenv("HEADRACE_ARTIFACT_INLINE_MAX_BYTES", "0")
    fourth = chain()
    assert CALLS == ["source", "source"]
    assert fourth.steps["double"].output.load() == third.steps["double"].output.load()


def _damage(repo: Path, version_id: str, content: bytes) -> None:
    with sqlite3.connect(repo / ".headrace" / "headrace.db") as db:
        db.execute(
            "UPDATE artifact_versions SET inline_content = ? WHERE id = ?", (content, version_id)
        )


@pytest.mark.parametrize(
    "content",
    [b"HRI1\x00\x00\x00\x09data.json", encode_files({"data.json": b'{"value": 41}'})],
    ids=["garbled", "changed"],
)
def test_a_damaged_record_is_refused_and_not_reused_from_the_cache(
    repo: Path, content: bytes
) -> None:
    run = chain()
    version = _outputs(run.name)["double"]
    _damage(repo, version.id, content)
    client = Client()
    damaged = client.get_artifact_version(version.id)
    with pytest.raises(ArtifactIntegrityError, match=version.id[:8] + "|double"):
        damaged.load()
    with pytest.raises(ArtifactIntegrityError):
        preview_artifact_version(damaged, client.store)
    CALLS.clear()
    again = chain()
    assert CALLS == ["source", "double"]  # the damaged cache hit is not used
    assert again.steps["big"].status.value == "cached"  # the recomputed value is equal
    assert again.steps["double"].output.load() == {"value": 40}


def test_clean_and_show_handle_inline_versions(repo: Path) -> None:
    run = chain()
    runner = CliRunner()
    listed = runner.invoke(app, ["clean"])
    assert listed.exit_code == 0 and "Nothing to clean" in listed.output, listed.output
    shown = runner.invoke(app, ["artifact", "show", _outputs(run.name)["double"].id])
    assert shown.exit_code == 0, shown.output
    assert "inline in the database record" in shown.output
    shown = runner.invoke(app, ["artifact", "show", _outputs(run.name)["big"].id])
    assert "artifact store" in shown.output
    described = runner.invoke(app, ["run", "show", run.name])
    assert described.exit_code == 0, described.output


def test_an_inline_version_passed_to_a_step_is_loaded_from_its_record(repo: Path) -> None:
    version = save_artifact({"value": 5}, "given")
    assert version.is_inline
    run = from_version(version)
    assert run.steps["big"].output.load().endswith("5")
    assert run.steps["big"].inputs["d"][0].id == version.id


@step(enable_cache=False)
def raw_files(artifact: UnmaterializedArtifact) -> list[str]:
    root = Path(artifact.uri)
    return sorted(f"{p.name}={p.read_text()}" for p in root.rglob("*") if p.is_file())


@pipeline(enable_cache=False)
def reads_raw() -> None:
    raw_files(double(source()))


def test_an_unmaterialized_input_finds_the_files_at_its_uri(repo: Path) -> None:
    first = reads_raw()
    double_version = first.steps["double"].output
    assert double_version.is_inline
    assert first.steps["raw_files"].output.load() == ['data.json={"value": 40}']
    # Written out once, checked, renamed into place; a second reader finds them whole.
    assert (Path(double_version.uri) / "data.json").is_file()
    assert not list(Path(double_version.uri).parent.glob("*.tmp-*"))
    from headrace.artifacts.loading import write_out_inline

    write_out_inline(double_version, Client().store)
    (Path(double_version.uri) / "data.json").write_text('{"value": 41}')
    with pytest.raises(ArtifactIntegrityError):
        write_out_inline(double_version, Client().store)
    # What is at the URI is never what a load reads: the record is.
    assert double_version.load() == {"value": 40}
    runner = CliRunner()
    assert "Nothing to clean" in runner.invoke(app, ["clean"]).output
