"""``headrace pipeline snapshot ...``: store a pipeline as a named snapshot, look at it,
and run it with new step parameters, without touching the code.

The usual round trip::

    headrace pipeline snapshot create run.my_pipeline --name nightly
    headrace pipeline snapshot config nightly --output nightly.yaml   # edit it
    headrace pipeline snapshot run nightly --config nightly.yaml --wait

``create`` imports the user's module, so it is the one command that runs project code;
the others only read the store. A snapshot's runs execute in a separate process from
the snapshot's archived code, so ``run`` returns at once unless ``--wait`` is given.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from headrace.cli.formatting import (
    MISSING,
    format_duration,
    format_time,
    short_id,
    status_text,
)
from headrace.cli.output import new_table, print_table, stderr_console, stdout_console
from headrace.enums import ExecutionStatus
from headrace.exceptions import ConfigurationError, EntityNotFoundError, HeadraceError
from headrace.utils.names import printable

if TYPE_CHECKING:
    from headrace.client import Client
    from headrace.dsl.pipeline import Pipeline
    from headrace.models import PipelineRunResponse, SnapshotResponse

app = typer.Typer(
    no_args_is_help=True,
    help="Snapshots: stored pipelines that anyone can run with new step parameters.",
)

SnapshotArgument = Annotated[
    str, typer.Argument(help="Snapshot name, id or unique id prefix.", show_default=False)
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        exists=True,
        dir_okay=False,
        help="YAML run configuration (see `headrace pipeline snapshot config`).",
    ),
]

# Rows of the parameters table whose values belong to the pipeline, not to a step.
PIPELINE_ROW = "(pipeline)"
_PLAIN_YAML_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


# -- commands ----------------------------------------------------------------------------
@app.command("create")
def create_snapshot(
    source: Annotated[
        str | None,
        typer.Argument(
            help="The pipeline as module.name, e.g. run.my_pipeline for my_pipeline in "
            "run.py, relative to the repository root (else the current directory).",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Name of the snapshot.", show_default=False)
    ] = "",
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from-run",
            help="Make it from a past run (name or id): its graph, configuration and code.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What the snapshot is for.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Take the name over from an existing snapshot.")
    ] = False,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            help="Stack the snapshot runs on (name or id; default: the active stack).",
        ),
    ] = None,
) -> None:
    """Store pipeline SOURCE, its code and its configuration as a named snapshot.

    Example: headrace pipeline snapshot create run.my_pipeline --name nightly --stack big
    Or from a past run: headrace pipeline snapshot create --from-run RUN --name nightly
    """
    from headrace.cli.snapshot_from_run import check_create_arguments, create_from_run
    from headrace.client import Client
    from headrace.dsl.compiler import compile_pipeline
    from headrace.snapshots.create import create_snapshot as store_snapshot

    check_create_arguments(source, name, from_run, config)
    if from_run is not None and stack is not None:
        raise ConfigurationError(
            "--stack does not go with --from-run: a snapshot of a run runs on that run's stack."
        )
    client = Client()
    replaced = replace and _exists(client, name)
    if from_run is not None:
        with project_on_path(project_root()):
            created = create_from_run(client, from_run, name, description, replace)
        _print_created(client, created, replaced)
        return
    assert source is not None
    with project_on_path(project_root()):
        pipeline = load_pipeline(source)
        if config is not None:
            pipeline = pipeline.with_options(config_path=config)
        snapshot = store_snapshot(
            client.store,
            compile_pipeline(pipeline, (), {}),
            name,
            description=description,
            replace=replace,
            stack=stack,
        )
    _print_created(client, snapshot, replaced)


def _print_created(client: Client, snapshot: SnapshotResponse, replaced: bool) -> None:
    verb = "Replaced" if replaced else "Created"
    console = stdout_console()
    console.print(Text(f"{verb} snapshot {snapshot.name!r}.", style="bold"))
    console.print(
        _facts(
            ("id", snapshot.id),
            ("pipeline", snapshot.pipeline_name or MISSING),
            ("stack", _stack_name(client, snapshot.stack_id)),
            ("steps", str(len(snapshot.spec.steps))),
            ("code digest", snapshot.code_digest or MISSING),
        )
    )
    console.print(f"Run it with: headrace pipeline snapshot run {snapshot.name}", markup=False)


@app.command("run")
def run_snapshot(
    snapshot: SnapshotArgument,
    config: ConfigOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait for the run to end and report how it went.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0, help="Seconds to wait at most (implies --wait)."),
    ] = None,
) -> None:
    """Start a run of a snapshot, with step parameters changed by --config.

    The run executes in its own process; without --wait this returns once it started.
    Exit code 1 when the configuration does not fit, or, with --wait, when the run fails.

    Example: headrace pipeline snapshot run nightly --config nightly.yaml --wait
    """
    from headrace.client import Client

    run = Client().trigger_pipeline(
        snapshot_name_or_id=snapshot, config_path=str(config) if config is not None else None
    )
    console = stdout_console()
    console.print(f"Started run {run.name!r} (id {run.id}).", markup=False)
    if not wait and timeout is None:
        console.print(f"Follow it with: headrace run show {run.name}", markup=False)
        return
    from headrace.cli.run_wait import wait_with_progress

    try:
        final = wait_with_progress(run, timeout)
    except TimeoutError as error:
        stderr_console().print(
            f"{error} It goes on in the background: headrace run show {run.name}",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from error
    _report_end(final)


@app.command("list")
def list_snapshots(
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", "-p", help="Only snapshots of this pipeline (name or id)."),
    ] = None,
    size: Annotated[
        int, typer.Option("--size", "-n", min=1, max=10_000, help="How many snapshots to show.")
    ] = 50,
) -> None:
    """List named snapshots, newest first, with how often each was run."""
    from headrace.client import Client

    client = Client()
    page = client.list_snapshots(pipeline=pipeline, size=size, sort_by="desc:created")
    table = new_table("snapshot", "pipeline", "created", "steps", "runs", "description", "id")
    for snapshot in page:
        runs_total, _ = _runs_of(client, snapshot)
        table.add_row(
            snapshot.name or MISSING,
            snapshot.pipeline_name or MISSING,
            format_time(snapshot.created),
            str(len(snapshot.spec.steps)),
            str(runs_total),
            _one_line(snapshot.description) or MISSING,
            short_id(snapshot.id),
        )
    if page.total > len(page):
        table.caption = f"{len(page)} of {page.total} snapshots; use --size to see more."
    print_table(
        table,
        "No snapshots yet; create one with: headrace pipeline snapshot create MODULE.PIPELINE "
        "--name NAME",
    )


@app.command("describe")
def describe_snapshot(snapshot: SnapshotArgument) -> None:
    """Show a snapshot: its code, environment, the parameters a run can change, its runs."""
    from headrace.client import Client

    client = Client()
    found = client.get_snapshot(snapshot)
    runs_total, last_run = _runs_of(client, found)
    environment = found.environment
    last = (
        Text.assemble(last_run.name, " (", status_text(last_run.status), ")")
        if last_run is not None
        else Text(MISSING)
    )
    console = stdout_console()
    console.print(Text(f"Snapshot {found.name or found.id}", style="bold"))
    console.print(
        _facts(
            ("id", found.id),
            ("pipeline", found.pipeline_name or MISSING),
            ("description", found.description or MISSING),
            ("stack", _stack_name(client, found.stack_id)),
            ("created", format_time(found.created)),
            ("code digest", found.code_digest or MISSING),
            ("python", str(environment.get("python_version", MISSING))),
            ("headrace", str(environment.get("headrace_version", MISSING))),
            ("distributions", f"{len(environment.get('distributions') or {})} installed"),
            ("runs", str(runs_total)),
            ("last run", last),
        )
    )
    console.print()
    table = parameters_table(found.parameter_schema)
    if table.row_count:
        table.caption = (
            "Change pipeline and step parameters with a file from `headrace pipeline snapshot "
            f"config {found.name or found.id}` passed to `run --config`; new pipeline "
            "parameters compile the pipeline again from the snapshot's code."
        )
    print_table(table, "This snapshot's pipeline and steps take no parameters.")


@app.command("config")
def write_config(
    snapshot: SnapshotArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE instead of stdout."),
    ] = None,
) -> None:
    """Write a snapshot's run configuration template (YAML) to edit and pass to run --config.

    Example: headrace pipeline snapshot config nightly -o nightly.yaml
    """
    from headrace.client import Client

    found = Client().get_snapshot(snapshot)
    text = config_template_yaml(found)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    stderr_console().print(
        f"Wrote the run configuration of snapshot {found.name or found.id!r} to {output}. "
        f"Edit it, then: headrace pipeline snapshot run {found.name or found.id} "
        f"--config {output}",
        markup=False,
        soft_wrap=True,
    )


@app.command("delete")
def delete_snapshot(
    snapshot: SnapshotArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a snapshot; asks first unless --yes. Runs made from it stay readable."""
    from headrace.client import Client

    client = Client()
    found = client.get_snapshot(snapshot)
    label = found.name or found.id
    runs_total, _ = _runs_of(client, found)
    question = (
        f"Delete snapshot {label!r} of pipeline {found.pipeline_name!r}? "
        f"Its {runs_total} run(s) stay readable."
    )
    if not yes and not typer.confirm(question, default=False):
        stderr_console().print(f"Kept snapshot {label!r}.", markup=False)
        return
    client.delete_snapshot(found.id)
    stdout_console().print(
        f"Deleted snapshot {label!r}; its {runs_total} run(s) are kept.", markup=False
    )


# -- loading the pipeline ----------------------------------------------------------------
def project_root() -> Path:
    """The directory pipeline sources are relative to.

    ``HEADRACE_SOURCE_ROOT`` when set, else the repository root made by ``headrace init``,
    else the current directory. (Not the directory of the running script, which for the
    CLI is the virtualenv's ``bin``.)
    """
    from headrace.utils.env import ENV_SOURCE_ROOT
    from headrace.utils.repository import find_repository_root

    explicit = os.environ.get(ENV_SOURCE_ROOT)
    if explicit:
        return Path(explicit).resolve()
    return find_repository_root() or Path.cwd().resolve()


@contextmanager
def project_on_path(root: Path) -> Iterator[None]:
    """Import from ``root`` first and make it the source root while inside.

    The source root is also what the snapshot archives and what its runs import from, so
    both must be the directory the pipeline was loaded from. Both changes are undone on
    exit, so an in-process caller (a test, a notebook) keeps its own settings.
    """
    from headrace.utils.env import ENV_SOURCE_ROOT

    entry = str(root)
    previous = os.environ.get(ENV_SOURCE_ROOT)
    os.environ[ENV_SOURCE_ROOT] = entry
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_SOURCE_ROOT, None)
        else:
            os.environ[ENV_SOURCE_ROOT] = previous
        if entry in sys.path:
            sys.path.remove(entry)


def load_pipeline(source: str) -> Pipeline[Any]:
    """Import the pipeline ``source`` (``module.name``) names.

    Raises:
        ConfigurationError: nothing of that name can be imported, importing the module
            raised, or the object is not a ``@pipeline``.
    """
    from headrace.config.source import load_source
    from headrace.dsl.pipeline import Pipeline
    from headrace.dsl.step import BaseStep

    try:
        obj = load_source(source)
    except HeadraceError:
        raise
    except Exception as error:  # the user's module raised while being imported
        raise ConfigurationError(
            f"Cannot load {source!r}: importing it raised {type(error).__name__}: {error} "
            "(--debug shows the traceback)."
        ) from error
    if not isinstance(obj, Pipeline):
        what = "a step" if isinstance(obj, BaseStep) else f"a {type(obj).__name__}"
        raise ConfigurationError(
            f"{source!r} is {what}, not a pipeline; give the module and the name of a "
            "function decorated with @pipeline, e.g. run.my_pipeline."
        )
    return obj


def _exists(client: Client, name: str) -> bool:
    try:
        client.get_snapshot(name)
    except EntityNotFoundError:
        return False
    return True


# -- runs --------------------------------------------------------------------------------
def _runs_of(client: Client, snapshot: SnapshotResponse) -> tuple[int, PipelineRunResponse | None]:
    """How many runs were made from ``snapshot``, and the newest of them."""
    page = client.list_pipeline_runs(snapshot_id=snapshot.id, size=1, sort_by="desc:created")
    return page.total, (page.items[0] if page.items else None)


def _report_end(run: PipelineRunResponse) -> None:
    """Print how a finished run ended; exit code 1 unless it succeeded."""
    console = stdout_console()
    console.print(
        Text.assemble(
            f"Run {run.name!r} finished: ",
            status_text(run.status),
            f" ({format_duration(run.duration)}).",
        )
    )
    if run.status.is_successful:
        return
    errors = stderr_console()
    if run.status_reason:
        errors.print(f"Reason: {run.status_reason}", style="red", markup=False, soft_wrap=True)
    for step in run.steps.values():
        if step.status != ExecutionStatus.FAILED:
            continue
        detail = f": {step.error.type}: {step.error.message}" if step.error else ""
        errors.print(
            f"Step {step.name!r} failed{detail}", style="red", markup=False, soft_wrap=True
        )
    errors.print(f"Details: headrace run show {run.name}", markup=False)
    raise typer.Exit(code=1)


# -- parameters --------------------------------------------------------------------------
def parameters_table(schema: dict[str, Any]) -> Table:
    """One row per pipeline and step parameter of a snapshot's parameter schema."""
    table = new_table("step", "parameter", "type", "default", "description", title="Parameters")
    properties = schema.get("properties", {})
    pipeline_parameters = properties.get("parameters", {}).get("properties", {})
    rows: list[tuple[str, dict[str, Any]]] = [(PIPELINE_ROW, pipeline_parameters)]
    steps = properties.get("steps", {}).get("properties", {})
    rows += [(step, step_schema.get("properties", {})) for step, step_schema in steps.items()]
    for owner, parameters in rows:
        for name, parameter in parameters.items():
            table.add_row(
                owner,
                name,
                schema_type(parameter),
                json.dumps(parameter["default"]) if "default" in parameter else "(required)",
                _one_line(parameter.get("description")) or MISSING,
            )
    return table


def schema_type(schema: dict[str, Any]) -> str:
    """A short name for the type a JSON Schema allows (``integer``, ``array[string]``)."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array[{schema_type(schema['items'])}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object[{schema_type(schema['additionalProperties'])}]"
    if kind:
        return str(kind)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(schema_type(option) for option in schema[key])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return "any"


# -- the configuration template ----------------------------------------------------------
def config_template_yaml(snapshot: SnapshotResponse) -> str:
    """The snapshot's run configuration template as commented YAML.

    Each step parameter gets a comment with its type and description, so the file can be
    edited without the code at hand. The comments are added line by line; if that ever
    changes what the YAML means, the plain dump is returned instead, so the file always
    loads back as the template.
    """
    import yaml

    from headrace.config.yaml_loader import load_yaml_text

    data = snapshot.config_template.model_dump(mode="json", exclude_defaults=True)
    label = _one_line(snapshot.name or snapshot.id)
    header = [
        f"# Run configuration of snapshot {label!r} (pipeline {snapshot.pipeline_name!r}).",
        "# Edit the pipeline or step parameters, then run:",
        f"#   headrace pipeline snapshot run {label} --config THIS_FILE",
        "# Steps and parameters left out keep the snapshot's values; new pipeline",
        "# parameters compile the pipeline again from the snapshot's code.",
    ]
    body = _commented_parameters(data.get("parameters", {}), snapshot.parameter_schema)
    if "steps" in data or not body:
        body += _commented_steps(data.get("steps", {}), snapshot.parameter_schema)
    text = "\n".join(header + body) + "\n"
    if load_yaml_text(text, "the generated template") != data:
        return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False)
    return text


def _commented_parameters(parameters: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The pipeline's ``parameters:``, each with its type and description as a comment."""
    import yaml

    if not parameters:
        return []
    properties = schema.get("properties", {}).get("parameters", {}).get("properties", {})
    lines = ["parameters:"]
    for name, value in parameters.items():
        lines.append(f"  # {_parameter_comment(properties.get(name, {}))}")
        lines += _indented(yaml.safe_dump({name: value}, sort_keys=False), 2)
    return lines


def _commented_steps(steps: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    import yaml

    if not steps:
        return ["steps: {}"]
    step_schemas = schema.get("properties", {}).get("steps", {}).get("properties", {})
    lines = ["steps:"]
    for step_name, step_config in steps.items():
        step_schema = step_schemas.get(step_name, {})
        if step_schema.get("description"):
            lines.append(f"  # {_one_line(step_schema['description'])}")
        if not step_config:
            lines.append(f"  {_yaml_key(step_name)}: {{}}")
            continue
        lines.append(f"  {_yaml_key(step_name)}:")
        step_config = dict(step_config)
        parameters = step_config.pop("parameters", {})
        if parameters:
            lines.append("    parameters:")
            properties = step_schema.get("properties", {})
            for name, value in parameters.items():
                lines.append(f"      # {_parameter_comment(properties.get(name, {}))}")
                lines += _indented(yaml.safe_dump({name: value}, sort_keys=False), 6)
        if step_config:  # settings a template does not make today, kept for completeness
            lines += _indented(yaml.safe_dump(step_config, sort_keys=False), 4)
    return lines


def _parameter_comment(schema: dict[str, Any]) -> str:
    description = _one_line(schema.get("description"))
    kind = schema_type(schema)
    return f"{kind}: {description}" if description else kind


def _indented(text: str, width: int) -> list[str]:
    return [" " * width + line for line in text.splitlines()]


def _yaml_key(key: str) -> str:
    # JSON strings are YAML strings, so anything unusual is quoted the JSON way.
    return key if _PLAIN_YAML_KEY.fullmatch(key) else json.dumps(key)


# -- pieces ------------------------------------------------------------------------------
def _facts(*pairs: tuple[str, str | Text]) -> Group:
    """Aligned ``label: value`` lines under a heading."""
    width = max(len(label) for label, _ in pairs) + 1
    lines = [
        Text.assemble(("  " + f"{label}:".ljust(width) + " ", "dim"), value)
        for label, value in pairs
    ]
    return Group(*lines)


def _one_line(text: str | None) -> str:
    """``text`` with its whitespace (newlines too) collapsed and control characters
    escaped, for one table cell or comment (the YAML template is written raw)."""
    return printable(" ".join(text.split())) if text else ""


def _stack_name(client: Client, stack_id: str) -> str:
    """``name (id)`` of the stack a snapshot runs on."""
    try:
        return f"{client.get_stack(stack_id).name} ({short_id(stack_id)})"
    except EntityNotFoundError:
        return f"{stack_id} (deleted)"
