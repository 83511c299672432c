"""The S3 artifact store end to end, against moto's S3 server on 127.0.0.1.

The store is registered through the CLI the way a user does it (``--client_kwargs`` names
the endpoint), then pipelines run on it: every built-in materializer (numpy and pandas
included), caching, step logs, ``save_artifact``/``load_artifact``, ``headrace artifact
show``, snapshots whose code archive lives on S3 and a snapshot run reading it in a fresh
process.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any

import pytest
from typer.testing import CliRunner, Result

from artifact_round_trip import load_saved
from headrace import ExecutionStatus, pipeline, step
from headrace.cli.main import app
from headrace.client import Client
from headrace.exceptions import StackComponentError
from s3_server import s3_bucket, s3_endpoint  # noqa: F401 - fixtures

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

RUNNER = CliRunner(env=dict.fromkeys(("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE")))


def ok(*args: str) -> str:
    result: Result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def s3_stack(repo: Path, s3_endpoint: str, s3_bucket: str) -> str:  # noqa: F811
    """An active stack whose artifact store is ``s3://BUCKET/artifacts`` on moto."""
    client_kwargs = json.dumps({"endpoint_url": s3_endpoint, "region_name": "us-east-1"})
    ok(
        "artifact-store",
        "register",
        "s3-store",
        "--flavor=s3",
        f"--path=s3://{s3_bucket}/artifacts",
        f"--client_kwargs={client_kwargs}",
    )
    ok("stack", "register", "on-s3", "-o", "default", "-a", "s3-store", "--set")
    return f"s3://{s3_bucket}/artifacts"


def _s3(endpoint: str) -> Any:
    import s3fs

    return s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)


@step
def make_values(
    n: int,
) -> tuple[
    Annotated[Any, "array"],
    Annotated[Any, "frame"],
    Annotated[dict[str, Any], "mapping"],
    Annotated[str, "text"],
    Annotated[bytes, "blob"],
]:
    print(f"making {n} values")
    array = np.arange(n, dtype=np.float32).reshape(-1, 2)
    frame = pd.DataFrame({"x": range(n), "y": [str(i) for i in range(n)]})
    return array, frame, {"n": n, "nested": [1, 2]}, "héllo", b"\x00\x01" * n


@step
def summarise(array: Any, frame: Any, mapping: dict[str, Any], text: str, blob: bytes) -> str:
    return f"{float(array.sum())}|{int(frame['x'].sum())}|{mapping['n']}|{text}|{len(blob)}"


@pipeline
def values_pipeline(n: int = 10) -> None:
    summarise(*make_values(n=n))


@step
def path_out(directory: str) -> Path:
    target = Path(directory) / "tree"
    (target / "sub").mkdir(parents=True)
    (target / "a.txt").write_text("a")
    (target / "sub" / "b.bin").write_bytes(b"b" * 1000)
    return target


@step
def path_in(tree: Path) -> int:
    return sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())


@pipeline
def path_pipeline(directory: str) -> None:
    path_in(path_out(directory=directory))


@pytest.mark.usefixtures("artifacts_as_files")  # reads and changes the objects
def test_pipelines_cache_and_logs_on_s3(s3_stack: str, s3_endpoint: str) -> None:  # noqa: F811
    run = values_pipeline(n=10)
    assert run.status is ExecutionStatus.COMPLETED
    steps = Client().get_pipeline_run(run.id).steps
    assert steps["summarise"].output.load() == "45.0|45|10|héllo|20"
    array = steps["make_values"].outputs["array"][0]
    assert array.uri.startswith(f"{s3_stack}/runs/{run.id}/")
    assert array.load().shape == (5, 2)
    assert steps["make_values"].outputs["frame"][0].load()["y"].tolist()[-1] == "9"
    assert "making 10 values" in steps["make_values"].logs
    assert steps["make_values"].logs_uri.startswith(f"{s3_stack}/logs/")
    # The bytes are really on the S3 server, and no temporary keys are left behind.
    keys = _s3(s3_endpoint).find(s3_stack.removeprefix("s3://"))
    assert any(k.endswith("data.npy") for k in keys)
    assert not any(".tmp-" in k for k in keys)

    again = values_pipeline(n=10)
    again_steps = Client().get_pipeline_run(again.id).steps
    assert again_steps["make_values"].status is ExecutionStatus.CACHED
    assert again_steps["summarise"].output.load() == "45.0|45|10|héllo|20"
    # Equal bytes hash equal whichever run wrote them.
    other = values_pipeline.with_options(enable_cache=False)(n=10)
    first_hash = array.content_hash
    assert (
        Client().get_pipeline_run(other.id).steps["make_values"].outputs["array"][0].content_hash
        == first_hash
    )


def test_file_and_directory_artifacts_on_s3(s3_stack: str, tmp_path: Path) -> None:
    run = path_pipeline(directory=str(tmp_path / "out"))
    steps = Client().get_pipeline_run(run.id).steps
    assert steps["path_in"].output.load() == 1001
    loaded = steps["path_out"].output.load()
    assert (loaded / "sub" / "b.bin").read_bytes() == b"b" * 1000


def test_a_failing_materializer_leaves_no_keys(s3_stack: str, s3_endpoint: str) -> None:  # noqa: F811
    from headrace.artifacts.saving import save_value
    from headrace.materializers.built_in_materializer import BuiltInMaterializer

    client = Client()
    from headrace.artifacts.loading import artifact_store_of

    artifact_store = artifact_store_of(client.store, client.active_stack.id)

    class Exploding(BuiltInMaterializer):
        def save(self, data: Any) -> None:
            with self.artifact_store.open(self.join("part.bin"), "wb") as handle:
                handle.write(b"x" * 100)
            raise RuntimeError("boom")

    uri = f"{s3_stack}/manual/broken"
    with pytest.raises(RuntimeError, match="boom"):
        save_value(1, artifact_store=artifact_store, uri=uri, materializer_class=Exploding)
    assert _s3(s3_endpoint).find(uri.removeprefix("s3://")) == []


def test_save_load_artifact_and_artifact_show(
    s3_stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headrace import load_artifact, save_artifact

    version = save_artifact(np.ones((3, 3)), name="ones")
    assert version.uri.startswith(s3_stack)
    assert load_artifact("ones").sum() == 9.0
    shown = ok("artifact", "show", "ones", "--value")
    assert "s3://" in shown and "array([[1., 1., 1.]" in " ".join(shown.split())
    frame = save_artifact(pd.DataFrame({"a": [1, 2]}), name="frame")
    assert frame.load()["a"].tolist() == [1, 2]
    from headrace.types import MarkdownString

    notes = save_artifact(MarkdownString("# Results on S3"), name="notes")
    assert notes.visualizations[0].uri.startswith(s3_stack)
    # A process that has not used the store yet finds it among the store's components
    # (its endpoint and credentials), not through fsspec's defaults.
    from headrace.artifact_stores import base

    monkeypatch.setattr(base, "_REMOTE_ROOTS", {})
    visualized = ok("artifact", "show", "notes", "--visualize")
    assert "Results on S3" in visualized and "cannot be read" not in visualized


PROJECT = textwrap.dedent(
    """
    from headrace import pipeline, step

    VERSION = "archived"


    @step
    def square(x: int = 3) -> int:
        return x * x


    @step
    def tag(value: int) -> str:
        return f"{VERSION}:{value}"


    @pipeline
    def squares():
        tag(square())
    """
)


def test_snapshot_code_archive_on_s3_and_a_run_from_it(
    s3_stack: str,
    s3_endpoint: str,  # noqa: F811
    repo: Path,
) -> None:
    (repo / "s3project.py").write_text(PROJECT)
    sys.path.insert(0, str(repo))
    try:
        import s3project

        snapshot = s3project.squares.create_snapshot(name="on-s3")
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("s3project", None)
    image = snapshot.image
    assert image["tag"] == f"headrace:squares-{image['context_digest'][:16]}"
    assert "headrace[s3]==" in image["requirements"][0]  # the stack's store needs s3fs
    assert "COPY code/ /app/" in image["dockerfile"] and not image["built"]
    assert "building is turned off" in image["message"]
    archive_uri = snapshot.extra["code"]["uri"]
    assert archive_uri.startswith(f"{s3_stack}/code/")
    assert _s3(s3_endpoint).exists(archive_uri)
    # The run happens in a fresh process that fetches the archive from S3.
    (repo / "s3project.py").unlink()
    run = Client().trigger_pipeline(
        snapshot_name_or_id="on-s3",
        run_configuration={"steps": {"square": {"parameters": {"x": 4}}}},
    )
    finished = run.wait(timeout=180)
    assert finished.status is ExecutionStatus.COMPLETED, finished.status
    assert finished.steps["tag"].output.load() == "archived:16"
    assert finished.steps["tag"].output.uri.startswith(s3_stack)


def test_secret_credentials(repo: Path, s3_endpoint: str, s3_bucket: str) -> None:  # noqa: F811
    client = Client()
    client.create_secret("aws", {"aws_access_key_id": "testing", "aws_secret_access_key": "x"})
    ok(
        "artifact-store",
        "register",
        "with-secret",
        "--flavor=s3",
        f"--path=s3://{s3_bucket}/secret",
        "--authentication_secret=aws",
        f"--client_kwargs={json.dumps({'endpoint_url': s3_endpoint})}",
    )
    ok("stack", "register", "secret-stack", "-o", "default", "-a", "with-secret", "--set")
    run = values_pipeline(n=4)
    assert Client().get_pipeline_run(run.id).steps["summarise"].output.load().endswith("|8")
    store_component = Client().active_stack.artifact_store
    from headrace.artifact_stores.components import artifact_store_from_component

    built = artifact_store_from_component(store_component, client.store, "x")
    assert built.fs.key == "testing" and built.fs.secret == "x"

    client.create_secret("broken", {"something": "else"})
    ok("artifact-store", "update", "with-secret", "--authentication_secret=broken")
    with pytest.raises(StackComponentError, match="aws_access_key_id"):
        artifact_store_from_component(
            Client().active_stack.artifact_store, client.store, "fresh-stack-key"
        )


@pytest.mark.usefixtures("artifacts_as_files")  # reads and changes the objects
@pytest.mark.parametrize("change", ["flip", "truncate"])
def test_changed_objects_are_refused_on_load(
    s3_stack: str,
    s3_endpoint: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    """Large objects are hashed while they are read (a numpy array, a file copied out),
    small ones before: a changed or truncated object is refused either way."""
    from headrace.artifacts.loading import artifact_store_of
    from headrace.artifacts.saving import save_value
    from headrace.exceptions import ArtifactIntegrityError
    from headrace.materializers.built_in_materializer import BuiltInMaterializer
    from headrace.materializers.numpy_materializer import NumpyMaterializer
    from headrace.materializers.path_materializer import PathMaterializer

    monkeypatch.setenv("HEADRACE_VERIFY_ARTIFACTS", "always")
    client = Client()
    store = artifact_store_of(client.store, client.active_stack.id)
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (3 * 4096))
    fs = _s3(s3_endpoint)
    cases = [
        (np.arange(1 << 19, dtype=np.float64), NumpyMaterializer, "data.npy"),
        (source, PathMaterializer, "content"),
        (12345, BuiltInMaterializer, "data.json"),
    ]
    for index, (value, materializer, file) in enumerate(cases):
        saved = save_value(
            value,
            artifact_store=store,
            uri=f"{s3_stack}/manual/{index}",
            materializer_class=materializer,
        )

        def load(saved: Any = saved) -> Any:
            return load_saved(saved, store)

        loaded = load()
        if materializer is NumpyMaterializer:
            assert (loaded == value).all()
        elif materializer is PathMaterializer:
            assert loaded.read_bytes() == source.read_bytes()
        else:
            assert loaded == value
        key = f"{saved.uri.removeprefix('s3://')}/{file}"
        data = bytearray(fs.cat_file(key))
        if change == "flip":
            data[-1] ^= 1
        else:
            del data[len(data) // 2 :]
        fs.pipe_file(key, bytes(data))
        store.fs.invalidate_cache()  # as another process would see it
        with pytest.raises(ArtifactIntegrityError, match="changed after they were written"):
            load()
