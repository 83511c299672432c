"""Render one pipeline run as a Rich tree: the run, then each step with what it made.

The tree is assembled from small section functions so that more facts can be hung on a
run or a step (what triggered the run, the runs a step triggered, its inputs) by adding
one function to ``RUN_SECTIONS`` or ``STEP_SECTIONS``, without touching the rest. What
a step section needs beyond the step itself is fetched once per run (``RunFacts``), never
once per step: a run of ten thousand steps is shown with a handful of store queries.
A run with more than ``FULL_LISTING_MAX_STEPS`` steps lists the steps that did not
succeed and the first and last few, unless everything is asked for.
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

FULL_LISTING_MAX_STEPS = 200
EDGE_STEPS = 10  # first and last steps listed of a long run
MAX_UNSUCCESSFUL_LISTED = 50


class RunFacts:
    """What step sections need, read once for the whole run."""

    def __init__(self, run: PipelineRunResponse, *, show_all: bool) -> None:
        from headrace.client import Client

        self.show_all = show_all
        self.triggered: dict[str, list[PipelineRunResponse]] = {}
        runs = Client(store=run.store).list_pipeline_runs(
            triggered_by_run_id=run.id, size=1000, sort_by="asc:created"
        )
        for triggered in runs:
            key = triggered.triggered_by_step_run_id or ""
            self.triggered.setdefault(key, []).append(triggered)


RunSection = Callable[[Tree, "PipelineRunResponse", RunFacts], None]
StepSection = Callable[[Tree, "StepRunResponse", RunFacts], None]


def build_run_tree(run: PipelineRunResponse, *, show_all: bool = False) -> Tree:
    """The whole run: its facts, then one branch per step in the order they started
    (for a long run, unless ``show_all``: the steps that did not succeed, the first and
    the last few)."""
    root = Tree(Text.assemble(("Run ", "bold"), (run.name, "bold"), "  ", status_text(run.status)))
    facts = RunFacts(run, show_all=show_all)
    for section in RUN_SECTIONS:
        section(root, run, facts)
    return root


def step_tree(step: StepRunResponse, facts: RunFacts) -> Tree:
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
        section(node, step, facts)
    return node


# -- run sections ------------------------------------------------------------------------
def add_run_facts(root: Tree, run: PipelineRunResponse, facts: RunFacts) -> None:
    """Pipeline, id, start time and duration, and why the run ended as it did."""
    root.add(_fact("pipeline", run.pipeline_name or "- (single step)"))
    root.add(_fact("id", run.id))
    root.add(_fact("started", format_time(run.start_time or run.created)))
    root.add(_fact("duration", format_duration(run.duration)))
    if run.status_reason:
        root.add(_fact("reason", run.status_reason))


def add_run_origin(root: Tree, run: PipelineRunResponse, facts: RunFacts) -> None:
    """The snapshot the run came from and the step that triggered it, when there are."""
    from headrace.client import Client

    client = Client(store=run.store)
    if run.snapshot_id and run.pipeline_id:  # named snapshots only: a plain run's is not
        named = client.list_snapshots(pipeline_id=run.pipeline_id, size=1000)
        snapshot = next((s for s in named if s.id == run.snapshot_id), None)
        if snapshot is not None:
            root.add(_fact("snapshot", f"{snapshot.name} ({snapshot.id[:8]})"))
    if run.triggered_by_step_run_id:
        try:
            step = client.get_run_step(run.triggered_by_step_run_id)
            parent = client.get_pipeline_run(step.pipeline_run_id)
            root.add(_fact("triggered by", f"step {step.name} of run {parent.name}"))
        except KeyError:
            root.add(_fact("triggered by", f"step run {run.triggered_by_step_run_id[:8]}"))


def add_run_hook_errors(root: Tree, run: PipelineRunResponse, facts: RunFacts) -> None:
    """Pipeline hooks (on_init, on_cleanup) that raised or could not be imported."""
    for error in run.hook_errors:
        root.add(hook_error_text(error))


def add_steps(root: Tree, run: PipelineRunResponse, facts: RunFacts) -> None:
    """A ``steps`` branch holding one subtree per step run (of a long run: the steps
    that did not succeed, then the first and last few, read without the others)."""
    overview = None
    if not facts.show_all:
        overview = run.store.get_step_run_overview(
            run.id, edge=EDGE_STEPS, max_unsuccessful=MAX_UNSUCCESSFUL_LISTED
        )
    if overview is None or overview.total <= FULL_LISTING_MAX_STEPS:
        steps = list(run.steps.values())
        branch = root.add(Text(f"steps ({len(steps)})", style="bold"))
        for step in steps:
            branch.children.append(step_tree(step, facts))
        return
    total = overview.total
    summary = ", ".join(
        f"{count} {status}" for status, count in sorted(overview.status_counts.items())
    )
    branch = root.add(Text(f"steps ({total}: {summary})", style="bold"))
    unsuccessful = overview.unsuccessful_total
    if unsuccessful:
        bad = branch.add(Text(f"did not succeed ({unsuccessful})", style="bold"))
        for step in overview.unsuccessful:
            bad.children.append(step_tree(step, facts))
        if unsuccessful > len(overview.unsuccessful):
            more = unsuccessful - len(overview.unsuccessful)
            bad.add(Text(f"... {more} more", style="dim"))
    for step in overview.first:
        branch.children.append(step_tree(step, facts))
    hidden = total - 2 * EDGE_STEPS
    branch.add(Text(f"... {hidden} more steps (--all lists every step)", style="dim"))
    for step in overview.last:
        branch.children.append(step_tree(step, facts))


# -- step sections -----------------------------------------------------------------------
def add_step_outputs(node: Tree, step: StepRunResponse, facts: RunFacts) -> None:
    """``output name -> artifact (version, type) uri`` for every artifact the step made."""
    versions = [(name, v) for name, vs in step.outputs.items() for v in vs]
    if not versions:
        return
    branch = node.add(Text("outputs", style="dim"))
    for output_name, version in versions:
        branch.add(_output_line(output_name, version))


def add_triggered_runs(node: Tree, step: StepRunResponse, facts: RunFacts) -> None:
    """Runs this step started (``Client().trigger_pipeline`` inside the step)."""
    runs = facts.triggered.get(step.id)
    if not runs:
        return
    branch = node.add(Text(f"triggered runs ({len(runs)})", style="dim"))
    for run in runs:
        branch.add(Text.assemble(run.name, "  ", status_text(run.status)))


def add_step_error(node: Tree, step: StepRunResponse, facts: RunFacts) -> None:
    """The exception type and message of a failed step."""
    if step.error is None:
        return
    node.add(Text(f"error: {step.error.type}: {step.error.message}", style="red"))


def add_step_hook_errors(node: Tree, step: StepRunResponse, facts: RunFacts) -> None:
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
