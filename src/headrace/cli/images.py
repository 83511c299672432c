"""``headrace pipeline build SOURCE``: the container image of a pipeline.

Builds (or reuses) the image its ``DockerSettings`` describe with the container engine
found on ``PATH``, pushes it when ``target_repository`` is set, and prints the tag and
the context digest. ``--context DIR`` only writes the build context (Dockerfile,
requirements and code) for a build elsewhere.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from headrace.cli.output import stdout_console


def build_pipeline_image(
    source: Annotated[
        str,
        typer.Argument(
            help="The pipeline as module.name, e.g. run.my_pipeline.", show_default=False
        ),
    ],
    stack: Annotated[
        str | None,
        typer.Option("--stack", "-s", help="Stack whose requirements go in (default: active)."),
    ] = None,
    context: Annotated[
        Path | None,
        typer.Option(
            "--context",
            help="Only write the build context into this (empty) directory; do not build.",
        ),
    ] = None,
    push: Annotated[
        bool | None,
        typer.Option(
            "--push/--no-push",
            help="Push after building (default: when DockerSettings.target_repository is set).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build the container image of pipeline SOURCE from its DockerSettings.

    Example: headrace pipeline build run.training --stack production
    """
    from headrace.cli.snapshots import load_pipeline, project_on_path, project_root
    from headrace.client import Client
    from headrace.config.docker_settings import DockerSettings
    from headrace.config.source import get_source_root
    from headrace.dsl.compiler import compile_pipeline
    from headrace.snapshots.images import build_image, image_spec, write_build_context

    client = Client()
    target = client.get_stack(stack) if stack else client.active_stack
    with project_on_path(project_root()):
        spec = compile_pipeline(load_pipeline(source), (), {}).spec
        root = get_source_root()
        docker = DockerSettings.model_validate(spec.config.settings.get("docker", {}))
        flavors = tuple(c.flavor for c in target.components.values())
        image = image_spec(docker, spec.name, root, stack_flavors=flavors)
        console = stdout_console()
        if context is not None:
            write_build_context(image, context, root)
            console.print(f"Wrote the build context of {image.tag} to {context}", markup=False)
            console.print(f"context digest: {image.context_digest}", markup=False)
            return
        with tempfile.TemporaryDirectory(prefix="headrace-image-") as work:
            record = build_image(image, docker, root, work_directory=Path(work), push=push)
    console.print(Text(f"image: {record.tag}", style="bold"))
    console.print(f"context digest: {record.context_digest}", markup=False)
    console.print(record.message, markup=False)
