"""Container images from ``DockerSettings``: a build context, its digest, and a build.

The build context is a directory with a generated ``Dockerfile``, a ``requirements.txt``
and the project's code below ``code/`` (copied from the project, or unpacked from a
snapshot's code archive). Its digest covers every input (the Dockerfile, the
requirements and the code's content hash), so the image tag
``REPOSITORY:PIPELINE-DIGEST`` names the inputs: an image with that tag that already
exists is reused instead of rebuilt.

Building uses whichever engine is on ``PATH`` (``docker``, ``podman`` or ``buildah``, in
that order; ``HEADRACE_CONTAINER_ENGINE`` picks one, ``none`` turns building off). With
no engine the result says so and still carries the Dockerfile and the context digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from headrace.config.docker_settings import DockerSettings
from headrace.exceptions import ImageBuildError
from headrace.snapshots.code_archive import project_digest, project_files
from headrace.snapshots.environment import DEFAULT_PARENT_IMAGE, installed_distributions
from headrace.utils.env import ENV_SOURCE_ROOT
from headrace.version import __version__

ENGINES = ("docker", "podman", "buildah")
ENV_CONTAINER_ENGINE = "HEADRACE_CONTAINER_ENGINE"
DEFAULT_REPOSITORY = "headrace"
CODE_DIRECTORY = "code"
APP_DIRECTORY = "/app"
# ``required_integrations`` name extras of the headrace package.
INTEGRATIONS = ("azure", "gcs", "kubernetes", "numpy", "pandas", "postgres", "ray", "s3")
# What each artifact store flavor needs inside the image (``install_stack_requirements``).
FLAVOR_REQUIREMENTS = {"s3": "headrace[s3]", "gcs": "headrace[gcs]", "azure": "headrace[azure]"}
_BUILD_TIMEOUT_S = 3600


@dataclass(frozen=True)
class ImageSpec:
    """Everything the image is built from, and the tag that names it.

    Attributes:
        dockerfile: the Dockerfile text (generated, or the user's own file's text).
        requirements: the ``requirements.txt`` text installed into the image.
        code_digest: content hash of the project code in the image.
        context_digest: hash of all of the above; equal inputs give an equal digest.
        tag: ``REPOSITORY:PIPELINE-<first 16 hex of the digest>``.
        user_dockerfile: path of the user's Dockerfile, when ``DockerSettings.dockerfile``.
        context_root: the user's build context directory (with ``user_dockerfile``).
    """

    dockerfile: str
    requirements: str
    code_digest: str
    context_digest: str
    tag: str
    user_dockerfile: str | None = None
    context_root: str | None = None


@dataclass
class ImageRecord:
    """What happened to a snapshot's image, as recorded in the snapshot."""

    tag: str
    context_digest: str
    dockerfile: str
    engine: str | None = None
    built: bool = False
    reused: bool = False
    pushed: bool = False
    message: str = ""
    parent_image: str | None = None
    requirements: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored in the snapshot's ``extra["image"]``)."""
        return asdict(self)


def requirements_of(
    docker: DockerSettings, source_root: Path, stack_flavors: tuple[str, ...] = ()
) -> list[str]:
    """The packages the image installs: headrace itself (with the extras the stack and
    ``required_integrations`` need), the listed or file requirements, and (with
    ``replicate_local_python_environment``) every local distribution pinned.

    Raises:
        ImageBuildError: an unknown integration, or a requirements file that is missing.
    """
    extras: set[str] = set()
    for integration in docker.required_integrations:
        if integration not in INTEGRATIONS:
            raise ImageBuildError(
                f"DockerSettings.required_integrations: unknown integration {integration!r}; "
                f"known: {', '.join(INTEGRATIONS)}."
            )
        extras.add(integration)
    if docker.install_stack_requirements:
        extras.update(f for f in stack_flavors if f in FLAVOR_REQUIREMENTS)
    head = f"headrace[{','.join(sorted(extras))}]" if extras else "headrace"
    found = [f"{head}=={__version__}"]
    if isinstance(docker.requirements, str):
        path = Path(docker.requirements)
        path = path if path.is_absolute() else source_root / path
        if not path.is_file():
            raise ImageBuildError(
                f"DockerSettings.requirements: file {docker.requirements!r} not found "
                f"(looked at {path})."
            )
        found += [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    elif docker.requirements:
        found += [str(r).strip() for r in docker.requirements if str(r).strip()]
    if docker.replicate_local_python_environment:
        known = {_name(r) for r in found}
        found += [d for d in installed_distributions() if _name(d) not in known]
    return found


def _name(requirement: str) -> str:
    for separator in ("[", "=", "<", ">", "!", "~", ";", " ", "@"):
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def generated_dockerfile(docker: DockerSettings) -> str:
    """The Dockerfile of a build context made by :func:`write_build_context`."""
    parent = docker.parent_image or DEFAULT_PARENT_IMAGE.format(
        major=sys.version_info[0], minor=sys.version_info[1]
    )
    lines = [
        "# Generated by headrace from DockerSettings; the context digest names its inputs.",
        f"FROM {parent}",
        "ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
    ]
    if docker.apt_packages:
        packages = " ".join(sorted(set(docker.apt_packages)))
        lines.append(
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{packages} && rm -rf /var/lib/apt/lists/*"
        )
    lines.append("COPY requirements.txt /tmp/headrace-requirements.txt")
    if docker.python_package_installer == "uv":
        lines.append(
            "RUN pip install --no-cache-dir uv && "
            "uv pip install --system --no-cache -r /tmp/headrace-requirements.txt"
        )
    else:
        lines.append("RUN pip install --no-cache-dir -r /tmp/headrace-requirements.txt")
    for key, value in sorted(docker.environment.items()):
        if value is not None:  # an unset variable (os.getenv gave None) stays unset
            lines.append(f"ENV {key}={json.dumps(str(value))}")
    lines += [
        f"WORKDIR {APP_DIRECTORY}",
        f"COPY {CODE_DIRECTORY}/ {APP_DIRECTORY}/",
        f"ENV {ENV_SOURCE_ROOT}={APP_DIRECTORY} PYTHONPATH={APP_DIRECTORY}",
    ]
    if docker.user:
        lines.append(f"USER {docker.user}")
    return "\n".join(lines) + "\n"


def image_spec(
    docker: DockerSettings,
    pipeline_name: str,
    source_root: Path,
    *,
    code_digest: str | None = None,
    stack_flavors: tuple[str, ...] = (),
) -> ImageSpec:
    """Describe the image of ``pipeline_name`` without writing anything.

    ``code_digest`` is the snapshot archive's digest when there is one (the same hash
    of the same files), else it is computed from the project's files.

    Raises:
        ImageBuildError: a requirements file or the user's Dockerfile is missing.
    """
    if code_digest is None:
        code_digest = project_digest(source_root)
    requirements = "\n".join(requirements_of(docker, source_root, stack_flavors)) + "\n"
    user_dockerfile = context_root = None
    if docker.dockerfile:
        path = Path(docker.dockerfile)
        path = path if path.is_absolute() else source_root / path
        if not path.is_file():
            raise ImageBuildError(
                f"DockerSettings.dockerfile: {docker.dockerfile!r} not found (looked at {path})."
            )
        dockerfile = path.read_text(encoding="utf-8")
        user_dockerfile = str(path)
        root = Path(docker.build_context_root or path.parent)
        context_root = str(root if root.is_absolute() else source_root / root)
    else:
        dockerfile = generated_dockerfile(docker)
    digest = hashlib.sha256()
    for name, text in (("Dockerfile", dockerfile), ("requirements.txt", requirements)):
        digest.update(f"{name}\0{hashlib.sha256(text.encode()).hexdigest()}\n".encode())
    digest.update(f"{CODE_DIRECTORY}\0{code_digest}\n".encode())
    context_digest = digest.hexdigest()
    repository = docker.target_repository or DEFAULT_REPOSITORY
    return ImageSpec(
        dockerfile=dockerfile,
        requirements=requirements,
        code_digest=code_digest,
        context_digest=context_digest,
        tag=f"{repository}:{_tag_part(pipeline_name)}-{context_digest[:16]}",
        user_dockerfile=user_dockerfile,
        context_root=context_root,
    )


def _tag_part(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in name.lower())
    return cleaned.strip(".-")[:100] or "pipeline"


def write_build_context(
    spec: ImageSpec,
    destination: Path,
    source_root: Path,
    *,
    code_archive: bytes | None = None,
) -> Path:
    """Write the build context of ``spec`` into ``destination`` (which must be empty or
    missing) and return it. The code comes from ``code_archive`` (a snapshot's
    ``.tar.gz``) when given, else from the project's files under ``source_root``.

    With the user's own Dockerfile, the context is their ``build_context_root`` copied
    as it is, with the Dockerfile beside it.
    """
    if destination.exists() and any(destination.iterdir()):
        raise ImageBuildError(f"The build context directory {destination} is not empty.")
    # Listed before the context is written, so a context inside the project never
    # copies itself.
    files = project_files(source_root) if code_archive is None else []
    destination.mkdir(parents=True, exist_ok=True)
    if spec.user_dockerfile is not None:
        assert spec.context_root is not None
        shutil.copytree(spec.context_root, destination, dirs_exist_ok=True)
        (destination / "Dockerfile.headrace").write_text(spec.dockerfile, encoding="utf-8")
        (destination / "requirements.txt").write_text(spec.requirements, encoding="utf-8")
        return destination
    (destination / "Dockerfile").write_text(spec.dockerfile, encoding="utf-8")
    (destination / "requirements.txt").write_text(spec.requirements, encoding="utf-8")
    code = destination / CODE_DIRECTORY
    code.mkdir()
    if code_archive is not None:
        with tarfile.open(fileobj=io.BytesIO(code_archive), mode="r:gz") as archive:
            archive.extractall(code, filter="data")
    else:
        for relative in files:
            target = code / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source_root / relative, target)
    return destination


def dockerfile_name(spec: ImageSpec) -> str:
    """The Dockerfile's name inside the context :func:`write_build_context` wrote."""
    return "Dockerfile.headrace" if spec.user_dockerfile is not None else "Dockerfile"


def find_engine() -> tuple[str | None, str]:
    """The container engine to build with (its path) and a sentence saying why.

    ``HEADRACE_CONTAINER_ENGINE`` names one (``docker``, ``podman``, ``buildah``) or turns
    building off (``none``); otherwise the first of those found on ``PATH``.

    Raises:
        ImageBuildError: the variable names something else, or an engine not on ``PATH``.
    """
    chosen = os.environ.get(ENV_CONTAINER_ENGINE, "").strip().lower()
    if chosen == "none":
        return None, f"building is turned off ({ENV_CONTAINER_ENGINE}=none)"
    if chosen:
        if chosen not in ENGINES:
            raise ImageBuildError(
                f"{ENV_CONTAINER_ENGINE}={chosen!r}: expected one of {', '.join(ENGINES)} or none."
            )
        path = shutil.which(chosen)
        if path is None:
            raise ImageBuildError(f"{ENV_CONTAINER_ENGINE}={chosen}, but {chosen} is not on PATH.")
        problem = _unusable(path)
        if problem is not None:
            raise ImageBuildError(f"{ENV_CONTAINER_ENGINE}={chosen}, but {problem}.")
        return path, f"{chosen} ({ENV_CONTAINER_ENGINE})"
    unusable = []
    for engine in ENGINES:
        path = shutil.which(engine)
        if path is None:
            continue
        problem = _unusable(path)
        if problem is None:
            return path, f"{engine} found on PATH"
        unusable.append(f"{engine} is on PATH but {problem}")
    if unusable:
        return None, "; ".join(unusable)
    return None, f"no container engine ({', '.join(ENGINES)}) found on PATH"


_CHECKED: dict[str, str | None] = {}


def _unusable(path: str) -> str | None:
    """Why the engine at ``path`` cannot build (a docker CLI without a reachable daemon),
    or ``None``; asked once per process."""
    if path not in _CHECKED:
        probe = [path, "version"] if Path(path).name == "buildah" else [path, "info"]
        try:
            result = subprocess.run(probe, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as exc:
            _CHECKED[path] = f"cannot run ({exc})"
        else:
            lines = (result.stderr or result.stdout).strip().splitlines()
            _CHECKED[path] = (
                None
                if result.returncode == 0
                else f"'{Path(path).name} {probe[1]}' failed: {lines[-1] if lines else 'no output'}"
            )
    return _CHECKED[path]


def engine_commands(engine: str, spec: ImageSpec, context: Path) -> dict[str, list[str]]:
    """The commands that check for, build and push the image with ``engine`` (a path)."""
    name = Path(engine).name
    dockerfile = str(context / dockerfile_name(spec))
    if name == "buildah":
        return {
            "exists": [engine, "inspect", "--type", "image", spec.tag],
            "build": [engine, "bud", "-f", dockerfile, "-t", spec.tag, str(context)],
            "push": [engine, "push", spec.tag],
        }
    return {
        "exists": [engine, "image", "inspect", spec.tag],
        "build": [engine, "build", "-f", dockerfile, "-t", spec.tag, str(context)],
        "push": [engine, "push", spec.tag],
    }


def build_image(
    spec: ImageSpec,
    docker: DockerSettings,
    source_root: Path,
    *,
    code_archive: Callable[[], bytes] | None = None,
    work_directory: Path,
    push: bool | None = None,
) -> ImageRecord:
    """Build (or reuse) and push the image ``spec`` describes, if an engine is present.

    ``code_archive`` reads the snapshot's archive (called only when an engine builds).
    ``push`` defaults to whether ``DockerSettings.target_repository`` is set (an image
    named after a registry is meant to be pushed there).

    Raises:
        ImageBuildError: the engine failed to build or push (its output in the message).
    """
    record = ImageRecord(
        tag=spec.tag,
        context_digest=spec.context_digest,
        dockerfile=spec.dockerfile,
        parent_image=docker.parent_image,
        requirements=spec.requirements.splitlines(),
    )
    if docker.skip_build:
        record.message = "not built: DockerSettings.skip_build is set"
        return record
    engine, why = find_engine()
    if engine is None:
        record.message = f"not built: {why}; the Dockerfile and context digest are recorded"
        return record
    record.engine = Path(engine).name
    context = work_directory / f"context-{spec.context_digest[:16]}"
    if context.exists():
        shutil.rmtree(context)
    archive = code_archive() if code_archive is not None else None
    write_build_context(spec, context, source_root, code_archive=archive)
    commands = engine_commands(engine, spec, context)
    try:
        if _run(commands["exists"], check=False) == 0:
            record.reused = True
            record.message = f"reused {spec.tag}: its inputs are unchanged"
        else:
            _run(commands["build"])
            record.built = True
            record.message = f"built {spec.tag} with {record.engine}"
        if push if push is not None else bool(docker.target_repository):
            _run(commands["push"])
            record.pushed = True
            record.message += f"; pushed {spec.tag}"
    finally:
        shutil.rmtree(context, ignore_errors=True)
    return record


def _run(command: list[str], *, check: bool = True) -> int:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ImageBuildError(f"{' '.join(command[:3])} could not run: {exc}") from exc
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-20:]
        raise ImageBuildError(
            f"{' '.join(command[:2])} failed (exit {result.returncode}):\n" + "\n".join(tail)
        )
    return result.returncode


def snapshot_image(
    settings: dict[str, Any],
    pipeline_name: str,
    source_root: Path,
    code_digest: str,
    stack_flavors: tuple[str, ...],
    read_archive: Callable[[], bytes],
) -> dict[str, Any]:
    """The image record of a new snapshot: built (or reused) and pushed when an engine
    is present, else the Dockerfile and context digest with the reason it was not built.

    A failed build does not stop the snapshot (it still runs on local stacks): the
    failure is logged and recorded in the image's ``message``.

    Raises:
        ImageBuildError: the settings describe no valid image (a missing file, an unknown
            integration).
    """
    import tempfile

    from headrace.utils.terminal import headrace_logger

    docker = DockerSettings.model_validate(settings.get("docker", {}))
    spec = image_spec(
        docker, pipeline_name, source_root, code_digest=code_digest, stack_flavors=stack_flavors
    )
    try:
        with tempfile.TemporaryDirectory(prefix="headrace-image-") as work:
            record = build_image(
                spec, docker, source_root, code_archive=read_archive, work_directory=Path(work)
            )
    except ImageBuildError as exc:
        headrace_logger().warning("The snapshot's image was not built: %s", exc)
        record = ImageRecord(
            tag=spec.tag,
            context_digest=spec.context_digest,
            dockerfile=spec.dockerfile,
            message=f"build failed: {exc}",
            parent_image=docker.parent_image,
            requirements=spec.requirements.splitlines(),
        )
    return record.to_json()
