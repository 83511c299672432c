"""Container images from DockerSettings: the Dockerfile, requirements, build context,
its digest and tag, engine discovery, and a real build where an engine works."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from headrace.config.docker_settings import DockerSettings
from headrace.exceptions import ImageBuildError
from headrace.snapshots import images
from headrace.snapshots.images import (
    build_image,
    engine_commands,
    find_engine,
    generated_dockerfile,
    image_spec,
    requirements_of,
    write_build_context,
)
from headrace.version import __version__


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "run.py").write_text("print('run')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "steps.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "run.cpython-311.pyc").write_bytes(b"\0")
    (root / "requirements.txt").write_text("# pinned\nscikit-learn>=1.4\n\npolars==1.0\n")
    return root


@pytest.fixture(autouse=True)
def _no_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(images.ENV_CONTAINER_ENGINE, raising=False)
    images._CHECKED.clear()


def test_dockerfile_has_every_setting_in_a_cache_friendly_order() -> None:
    docker = DockerSettings(
        parent_image="registry.example.com/base:1",
        apt_packages=["git", "curl", "git"],
        environment={"B": "two words", "A": 1, "UNSET": None},
        user="runner",
    )
    lines = generated_dockerfile(docker).splitlines()
    assert lines[1] == "FROM registry.example.com/base:1"
    apt = next(line for line in lines if "apt-get" in line)
    assert "install -y --no-install-recommends curl git &&" in apt
    assert lines.index(apt) < lines.index("COPY requirements.txt /tmp/headrace-requirements.txt")
    assert "RUN pip install --no-cache-dir -r /tmp/headrace-requirements.txt" in lines
    assert lines.index('ENV A="1"') < lines.index('ENV B="two words"')
    assert not any("UNSET" in line for line in lines)
    # Code comes last: editing it reuses every layer above.
    assert lines[-4:] == [
        "WORKDIR /app",
        "COPY code/ /app/",
        "ENV HEADRACE_SOURCE_ROOT=/app PYTHONPATH=/app",
        "USER runner",
    ]


def test_default_parent_and_uv_installer() -> None:
    text = generated_dockerfile(DockerSettings(python_package_installer="uv"))
    assert "FROM python:3." in text and "-slim" in text
    assert "uv pip install --system --no-cache -r /tmp/headrace-requirements.txt" in text


def test_requirements_from_list_file_integrations_and_stack(project: Path) -> None:
    listed = requirements_of(DockerSettings(requirements=["numpy>=1.26", " "]), project)
    assert listed == [f"headrace=={__version__}", "numpy>=1.26"]
    from_file = requirements_of(
        DockerSettings(requirements="requirements.txt", required_integrations=["pandas"]),
        project,
        stack_flavors=("local", "s3"),
    )
    assert from_file == [f"headrace[pandas,s3]=={__version__}", "scikit-learn>=1.4", "polars==1.0"]
    without_stack = requirements_of(
        DockerSettings(install_stack_requirements=False), project, stack_flavors=("s3",)
    )
    assert without_stack == [f"headrace=={__version__}"]
    with pytest.raises(ImageBuildError, match="unknown integration 'sklearn'; known: azure"):
        requirements_of(DockerSettings(required_integrations=["sklearn"]), project)
    with pytest.raises(ImageBuildError, match="file 'missing.txt' not found"):
        requirements_of(DockerSettings(requirements="missing.txt"), project)


def test_replicating_the_local_environment_pins_installed_packages(project: Path) -> None:
    found = requirements_of(
        DockerSettings(replicate_local_python_environment=True, requirements=["pydantic"]),
        project,
    )
    assert found[:2] == [f"headrace=={__version__}", "pydantic"]
    assert any(r.lower().startswith("pyyaml==") for r in found)
    assert not any(r.lower().startswith("pydantic==") for r in found)


def test_digest_and_tag_follow_the_inputs(project: Path) -> None:
    docker = DockerSettings(requirements=["numpy"], target_repository="reg.example.com/team/img")
    first = image_spec(docker, "Training Pipeline", project)
    again = image_spec(docker, "Training Pipeline", project)
    assert first == again
    assert first.tag == f"reg.example.com/team/img:training-pipeline-{first.context_digest[:16]}"
    assert image_spec(DockerSettings(), "p", project).tag.startswith("headrace:p-")
    changes = [
        image_spec(DockerSettings(requirements=["numpy<2"]), "p", project),
        image_spec(DockerSettings(requirements=["numpy"], apt_packages=["git"]), "p", project),
        image_spec(docker, "p", project, code_digest="0" * 64),
    ]
    base = image_spec(DockerSettings(requirements=["numpy"]), "p", project)
    assert len({base.context_digest, *(c.context_digest for c in changes)}) == 4
    (project / "pkg" / "steps.py").write_text("X = 2\n")
    assert image_spec(DockerSettings(requirements=["numpy"]), "p", project) != base


def test_build_context_from_the_project(project: Path, tmp_path: Path) -> None:
    spec = image_spec(DockerSettings(requirements="requirements.txt"), "p", project)
    context = write_build_context(spec, project / "build-context", project)
    files = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert files == [
        "Dockerfile",
        "code/pkg/__init__.py",
        "code/pkg/steps.py",
        "code/requirements.txt",
        "code/run.py",
        "requirements.txt",
    ]
    assert (context / "Dockerfile").read_text() == spec.dockerfile
    assert (context / "requirements.txt").read_text() == spec.requirements
    with pytest.raises(ImageBuildError, match="is not empty"):
        write_build_context(spec, context, project)


def test_build_context_from_a_snapshot_archive(project: Path, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"ARCHIVED = True\n"
        info = tarfile.TarInfo("archived.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    spec = image_spec(DockerSettings(), "p", project, code_digest="a" * 64)
    context = write_build_context(spec, tmp_path / "ctx", project, code_archive=buffer.getvalue())
    assert (context / "code" / "archived.py").read_text() == "ARCHIVED = True\n"
    assert not (context / "code" / "run.py").exists()


def test_a_user_dockerfile_and_its_context(project: Path, tmp_path: Path) -> None:
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text("FROM scratch\n")
    docker = DockerSettings(dockerfile="docker/Dockerfile", build_context_root=".")
    spec = image_spec(docker, "p", project)
    assert spec.dockerfile == "FROM scratch\n"
    context = write_build_context(spec, tmp_path / "ctx", project)
    assert (context / "Dockerfile.headrace").read_text() == "FROM scratch\n"
    assert (context / "run.py").is_file() and (context / "docker" / "Dockerfile").is_file()
    assert engine_commands("/usr/bin/docker", spec, context)["build"][3].endswith(
        "Dockerfile.headrace"
    )
    with pytest.raises(ImageBuildError, match="'nope' not found"):
        image_spec(DockerSettings(dockerfile="nope"), "p", project)


def test_engine_commands() -> None:
    spec = image_spec(DockerSettings(), "p", Path(__file__).parent, code_digest="b" * 64)
    context = Path("/tmp/ctx")
    docker = engine_commands("/usr/bin/podman", spec, context)
    assert docker["build"] == [
        "/usr/bin/podman",
        "build",
        "-f",
        "/tmp/ctx/Dockerfile",
        "-t",
        spec.tag,
        "/tmp/ctx",
    ]
    assert docker["exists"] == ["/usr/bin/podman", "image", "inspect", spec.tag]
    buildah = engine_commands("/usr/bin/buildah", spec, context)
    assert buildah["build"][:2] == ["/usr/bin/buildah", "bud"]
    assert buildah["push"] == ["/usr/bin/buildah", "push", spec.tag]


def _fake_engine(directory: Path, name: str, script: str) -> Path:
    """An executable standing in for an engine binary: engines cannot run here, so this
    checks the calls we make (arguments, order) rather than an image."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_engine_discovery_and_the_recorded_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_engine() == (None, "no container engine (docker, podman, buildah) found on PATH")
    record = build_image(
        image_spec(DockerSettings(), "p", project),
        DockerSettings(),
        project,
        work_directory=tmp_path,
    )
    assert not record.built and "no container engine" in record.message
    assert record.dockerfile.startswith("# Generated by headrace")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_engine(bin_dir, "docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    engine, why = find_engine()
    assert engine is None and "docker is on PATH but 'docker info' failed: Cannot connect" in why

    images._CHECKED.clear()
    monkeypatch.setenv(images.ENV_CONTAINER_ENGINE, "none")
    assert find_engine()[0] is None
    monkeypatch.setenv(images.ENV_CONTAINER_ENGINE, "kaniko")
    with pytest.raises(ImageBuildError, match="expected one of docker, podman, buildah or none"):
        find_engine()
    record = build_image(
        image_spec(DockerSettings(), "p", project),
        DockerSettings(skip_build=True),
        project,
        work_directory=tmp_path,
    )
    assert record.message == "not built: DockerSettings.skip_build is set"


def test_build_reuse_and_push_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    # A stand-in podman that keeps "images" as files, so reuse can be observed.
    _fake_engine(
        bin_dir,
        "podman",
        f'echo "$@" >> {log}\n'
        'case "$1" in\n'
        "  info) exit 0;;\n"
        f'  image) test -f "{images_dir}/$(echo "$3" | tr "/:" "__")";;\n'
        f'  build) test -f "$3" && test -d "$6/code" && '
        f'touch "{images_dir}/$(echo "$5" | tr "/:" "__")";;\n'
        "  push) exit 0;;\n"
        "esac\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    docker = DockerSettings(target_repository="reg.example.com/team/img")
    spec = image_spec(docker, "p", project)
    first = build_image(spec, docker, project, work_directory=tmp_path / "work")
    assert first.engine == "podman" and first.built and first.pushed and not first.reused
    second = build_image(spec, docker, project, work_directory=tmp_path / "work", push=False)
    assert second.reused and not second.built and not second.pushed
    assert "inputs are unchanged" in second.message
    calls = [line.split()[0] for line in log.read_text().splitlines()]
    assert calls == ["info", "image", "build", "push", "image"]
    assert not any((tmp_path / "work").iterdir())  # the context is removed afterwards


def test_a_failing_build_names_the_engine_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_engine(
        bin_dir,
        "buildah",
        'case "$1" in version) exit 0;; inspect) exit 1;;\n'
        '  *) echo "no space left" >&2; exit 3;;\nesac\n',
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    spec = image_spec(DockerSettings(), "p", project)
    with pytest.raises(ImageBuildError, match=r"buildah bud failed \(exit 3\):\nno space left"):
        build_image(spec, DockerSettings(), project, work_directory=tmp_path / "w")


def test_a_real_build_where_an_engine_works(tmp_path: Path, project: Path) -> None:
    engine, why = find_engine()
    if engine is None:
        pytest.skip(f"no working container engine here: {why}")
    docker = DockerSettings(parent_image="python:3.11-slim")
    spec = image_spec(docker, "real-build-test", project)
    record = build_image(spec, docker, project, work_directory=tmp_path, push=False)
    assert record.built or record.reused
