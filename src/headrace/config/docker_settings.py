"""The container image a snapshot describes (a Dockerfile is generated from it)."""

from typing import Any

from pydantic import Field

from headrace.config.base import ConfigModel
from headrace.utils.factories import new_dict, new_list


class DockerSettings(ConfigModel):
    """Image specification for running a pipeline in a container."""

    parent_image: str | None = None
    dockerfile: str | None = None
    build_context_root: str | None = None
    requirements: list[str] | str | None = None
    required_integrations: list[str] = Field(default_factory=new_list)
    apt_packages: list[str] = Field(default_factory=new_list)
    # Any values, as written in the image's ENV lines (``None`` from an unset
    # ``os.getenv`` included): checking them here would break code at import time.
    environment: dict[str, Any] = Field(default_factory=new_dict)
    python_package_installer: str = "pip"
    install_stack_requirements: bool = True
    replicate_local_python_environment: bool = False
    skip_build: bool = False
    target_repository: str | None = None
    user: str | None = None
