"""The environment a snapshot was made in, and the container image it describes."""

from __future__ import annotations

import platform
import sys
from typing import Any

from headrace.config.docker_settings import DockerSettings
from headrace.version import __version__

DEFAULT_PARENT_IMAGE = "python:{major}.{minor}-slim"


def installed_distributions() -> list[str]:
    """``name==version`` of every installed distribution, sorted and unique."""
    from importlib.metadata import distributions

    found = {}
    for dist in distributions():
        name = dist.metadata["Name"]  # None when a broken distribution has no name
        if name:
            found[name.lower()] = f"{name}=={dist.version}"
    return [found[key] for key in sorted(found)]


def capture_environment(settings: dict[str, Any]) -> dict[str, Any]:
    """Python, headrace and package versions, and the image specification."""
    docker = DockerSettings.model_validate(settings.get("docker", {}))
    return {
        "python_version": ".".join(str(v) for v in sys.version_info[:3]),
        "headrace_version": __version__,
        "platform": platform.platform(),
        "distributions": installed_distributions(),
        "docker": docker.model_dump(mode="json", exclude_defaults=True),
        "dockerfile": dockerfile(docker),
    }


def dockerfile(docker: DockerSettings) -> str:
    """A Dockerfile for running the snapshot's code in a container."""
    if docker.dockerfile:
        return f"# Uses the user's Dockerfile: {docker.dockerfile}\n"
    parent = docker.parent_image or DEFAULT_PARENT_IMAGE.format(
        major=sys.version_info[0], minor=sys.version_info[1]
    )
    lines = [f"FROM {parent}", "ENV PYTHONUNBUFFERED=1"]
    if docker.apt_packages:
        packages = " ".join(sorted(docker.apt_packages))
        lines.append(
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{packages} && rm -rf /var/lib/apt/lists/*"
        )
    listed: list[str] = []
    if isinstance(docker.requirements, str):
        lines.append(f"COPY {docker.requirements} /tmp/requirements.txt")
        lines.append("RUN pip install --no-cache-dir -r /tmp/requirements.txt")
    elif docker.requirements:
        listed = list(docker.requirements)
    pip_packages = [f"headrace=={__version__}", *listed]
    lines.append("RUN pip install --no-cache-dir " + " ".join(f"'{p}'" for p in pip_packages))
    for key, value in sorted(docker.environment.items()):
        if value is not None:  # an unset variable (os.getenv gave None) stays unset
            lines.append(f"ENV {key}={value}")
    lines += ["WORKDIR /app", "COPY . /app"]
    if docker.user:
        lines.append(f"USER {docker.user}")
    return "\n".join(lines) + "\n"
