"""Render one pipeline run as a Rich tree: the run, then each step with what it made.

The tree is assembled from small section functions so that more facts can be hung on a
run or a step (what triggered the run, the runs a step triggered, its inputs) by adding
one function to ``RUN_SECTIONS`` or ``STEP_SECTIONS``, without touching the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from rich.tree import Tree

from headrace.cli.formatting import (
    format_duration,
    format_time,
    short_type,
    status_text,
)

if TYPE_CHECKING:
    from headrace.models import ArtifactVersionResponse, PipelineRunResponse, StepRunResponse
    from headrace.models.step_run import HookError

RunSection = Callable[[Tree, "PipelineRunResponse"], None]
StepSection = Callable[[Tree, "StepRunResponse"], None]


def build_run_tree(run: PipelineRunResponse) -> Tree:
    """The whole run: its facts, then one branch per step in the order they started."""
    root = Tree(Text.assemble(("Run ", "bold"), (run.name, "bold"), "  ", status_text(run.status)))
    for section in RUN_SECTIONS:
        section(root, run)
    return root


def step_tree(step: StepRunResponse) -> Tree:
    """One step: its name, status and duration, then every step section."""
    node = Tree(
        Text.assemble(
            (step.name, "bold"),
            "  ",
            status_text(step.status),
            "  ",
            format_duration(step.duration),
        )
    )
    for section in STEP_SECTIONS:
        section(node, step)
    return node


# -- run sections ------------------------------------------------------------------------
def add_run_facts(root: Tree, run: PipelineRunResponse) -> None:
    """Pipeline, id, start time and duration, and why the run ended as it did."""
    root.add(_fact("pipeline", run.pipeline_name or "- (single step)"))
    root.add(_fact("id", run.id))
    root.add(_fact("started", format_time(run.start_time or run.created)))
    root.add(_fact("duration", format_duration(run.duration)))
    if run.status_reason:
        root.add(_fact("reason", run.status_reason))


def add_run_origin(root: Tree, run: PipelineRunResponse) -> None:
    """The snapshot the run came from and the step that triggered it, when there are."""
    from headrace.client import Client

    client = Client(store=run.store)
    if run.snapshot_id:
        snapshot = client.get_snapshot(run.snapshot_id)
        if snapshot.name:
            root.add(_fact("snapshot", f"{snapshot.name} ({snapshot.id[:8]})"))
    if run.triggered_by_step_run_id:
        try:
            step = client.get_run_step(run.triggered_by_step_run_id)
            parent = client.get_pipeline_run(step.pipeline_run_id)
            root.add(_fact("triggered by", f"step {step.name} of run {parent.name}"))
        except KeyError:
            root.add(_fact("triggered by", f"step run {run.triggered_by_step_run_id[:8]}"))


def add_run_hook_errors(root: Tree, run: PipelineRunResponse) -> None:
    """Pipeline hooks (on_init, on_cleanup) that raised or could not be imported."""
    for error in run.hook_errors:
        root.add(hook_error_text(error))


def add_steps(root: Tree, run: PipelineRunResponse) -> None:
    """A ``steps`` branch holding one subtree per step run."""
    steps = run.steps
    branch = root.add(Text(f"steps ({len(steps)})", style="bold"))
    for step in steps.values():
        branch.children.append(step_tree(step))


# -- step sections -----------------------------------------------------------------------
def add_step_outputs(node: Tree, step: StepRunResponse) -> None:
    """``output name -> artifact (version, type) uri`` for every artifact the step made."""
    versions = [(name, v) for name, vs in step.outputs.items() for v in vs]
    if not versions:
        return
    branch = node.add(Text("outputs", style="dim"))
    for output_name, version in versions:
        branch.add(_output_line(output_name, version))


def add_triggered_runs(node: Tree, step: StepRunResponse) -> None:
    """Runs this step started (``Client().trigger_pipeline`` inside the step)."""
    from headrace.client import Client

    runs = Client(store=step.store).list_pipeline_runs(
        triggered_by_step_run_id=step.id, size=100, sort_by="asc:created"
    )
    if not runs.items:
        return
    branch = node.add(Text(f"triggered runs ({runs.total})", style="dim"))
    for run in runs:
        branch.add(Text.assemble(run.name, "  ", status_text(run.status)))


def add_step_error(node: Tree, step: StepRunResponse) -> None:
    """The exception type and message of a failed step."""
    if step.error is None:
        return
    node.add(Text(f"error: {step.error.type}: {step.error.message}", style="red"))


def add_step_hook_errors(node: Tree, step: StepRunResponse) -> None:
    """Success and failure hooks of the step that raised or could not be imported."""
    for error in step.hook_errors:
        node.add(hook_error_text(error))


RUN_SECTIONS: tuple[RunSection, ...] = (
    add_run_facts,
    add_run_origin,
    add_run_hook_errors,
    add_steps,
)
STEP_SECTIONS: tuple[StepSection, ...] = (
    add_step_outputs,
    add_triggered_runs,
    add_step_error,
    add_step_hook_errors,
)


# -- pieces ------------------------------------------------------------------------------
def hook_error_text(error: HookError) -> Text:
    """``hook on_failure (module.fn) raised Type: message``, in yellow."""
    return Text(
        f"hook {error.hook} ({error.source}) raised {error.type}: {error.message}", style="yellow"
    )


def _fact(label: str, value: str) -> Text:
    return Text.assemble((f"{label}: ", "dim"), value)


def _output_line(output_name: str, version: ArtifactVersionResponse) -> Text:
    return Text.assemble(
        (output_name, "bold"),
        " -> ",
        version.name,
        (f" (version {version.version}, {short_type(version.data_type)}) ", "dim"),
        version.uri,
    )
