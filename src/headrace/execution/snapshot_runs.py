"""Runs of stored snapshots: trigger one (from Python, the CLI, a step, ...) and the
runner process that executes it from the snapshot's archived code.

``trigger_snapshot`` validates the run configuration, records the run and starts
``python -m headrace.execution.snapshot_runs RUN_ID`` in a new session, so the run goes
on if the caller exits. The runner unpacks the code archive, imports from it (never from
the working tree), applies the run's overrides to the snapshot's spec, and executes it
through the same launcher as every other run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headrace.artifact_stores.base import ArtifactStore
from headrace.artifacts.loading import artifact_store_of
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import SPEC_SCHEMA_VERSION, PipelineSpec
from headrace.enums import ExecutionStatus
from headrace.exceptions import RunFailedError, SnapshotError
from headrace.execution.launcher import create_run_record, execute
from headrace.execution.run_state import RunState
from headrace.execution.snapshot_compile import (
    changed_step_parameters,
    changes_parameters,
    recompiled_spec,
)
from headrace.models import (
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    SnapshotResponse,
)
from headrace.snapshots.parameters import validate_run_configuration
from headrace.store.base import Store
from headrace.store.run_liveness import process_started
from headrace.utils.env import ENV_SOURCE_ROOT, ENV_STORE_URL
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()


def apply_overrides(spec: PipelineSpec, run_config: PipelineRunConfiguration) -> PipelineSpec:
    """The spec a run of a snapshot executes: the snapshot's, with the run's overrides."""
    from headrace.dsl.compiler import to_json_value

    steps = dict(spec.steps)
    for name, step_config in run_config.steps.items():
        if name not in steps:
            continue  # a dynamic pipeline's steps exist only at run time
        step = steps[name]
        parameters = dict(step.parameters)
        for key, value in step_config.parameters.items():
            parameters[key] = to_json_value(value, what=f"Step {name!r} parameter {key!r}")
        settings_only = step_config.model_copy(update={"parameters": {}})
        steps[name] = step.model_copy(
            update={"parameters": parameters, "config": step.config.merged_with(settings_only)}
        )
    update: dict[str, Any] = {"steps": steps, "config": spec.config.merged_with(run_config)}
    if run_config.parameters:  # a static spec with new ones is compiled again first
        update["parameters"] = {
            **spec.parameters,
            **{
                key: to_json_value(value, what=f"Pipeline parameter {key!r}")
                for key, value in run_config.parameters.items()
            },
        }
    return spec.model_copy(update=update)


def check_runnable(snapshot: SnapshotResponse) -> None:
    """Refuse snapshots this version cannot run, saying how to recreate them."""
    recorded = int(snapshot.extra.get("spec_schema_version", snapshot.spec.schema_version))
    replaced_by = snapshot.extra.get("replaced_by")
    if not snapshot.runnable and isinstance(replaced_by, dict):
        raise SnapshotError(replaced_message(snapshot.id, replaced_by))
    if not snapshot.runnable or "code" not in snapshot.extra:
        raise SnapshotError(
            f"Snapshot {snapshot.name or snapshot.id!r} is not runnable (it was made for a "
            "single run); create a named one with `headrace pipeline snapshot create`."
        )
    if recorded > SPEC_SCHEMA_VERSION:
        raise SnapshotError(
            f"Snapshot {snapshot.name!r} was made by headrace "
            f"{snapshot.extra.get('headrace_version')} (spec schema {recorded}); this headrace "
            f"reads schema {SPEC_SCHEMA_VERSION} at most. Upgrade headrace, or recreate the "
            "snapshot from its source with `headrace pipeline snapshot create`."
        )


def replaced_message(snapshot_id: str, replaced_by: dict[str, Any]) -> str:
    """Why a replaced snapshot cannot run, and which one took its name."""
    name, new_id = replaced_by.get("name"), replaced_by.get("id")
    when = str(replaced_by.get("at") or "")[:19].replace("T", " ")
    return (
        f"Snapshot {snapshot_id} was replaced{f' on {when}' if when else ''} by snapshot "
        f"{name!r} (id {new_id}), which now holds its name, so it no longer runs. Run the "
        f"new one (`headrace pipeline snapshot run {name}`), or make the old one runnable "
        f"again from one of its runs (`headrace pipeline snapshot create --from-run RUN "
        "--name NEW_NAME`)."
    )


def trigger_snapshot(
    store: Store,
    snapshot: SnapshotResponse,
    run_configuration: PipelineRunConfiguration | dict[str, Any] | None = None,
    *,
    triggered_by_step_run_id: str | None = None,
    launch: Callable[[Store, PipelineRunResponse], Any] | None = None,
) -> PipelineRunResponse:
    """Validate, record and start a run of ``snapshot``; returns the new run at once.

    ``launch`` starts the recorded run (default: :func:`spawn_runner` right away). A
    server does not call this: it queues runs (``headrace.server.run_queue``).
    """
    run = record_snapshot_run(
        store, snapshot, run_configuration, triggered_by_step_run_id=triggered_by_step_run_id
    )
    (launch or spawn_runner)(store, run)
    return run


def record_snapshot_run(
    store: Store,
    snapshot: SnapshotResponse,
    run_configuration: PipelineRunConfiguration | dict[str, Any] | None,
    *,
    triggered_by_step_run_id: str | None = None,
    create: Callable[[PipelineRunRequest], PipelineRunResponse] | None = None,
) -> PipelineRunResponse:
    """Validate the run configuration against ``snapshot`` (``RunConfigurationError``
    lists every problem; nothing is recorded then) and record the run.

    ``create`` records it (default ``store.create_run``; a server's queue records it
    ``queued``).
    """
    check_runnable(snapshot)
    config = validate_run_configuration(
        snapshot.name or snapshot.id,
        snapshot.spec,
        snapshot.extra["parameter_schema"],
        run_configuration,
        snapshot.extra["code"].get("modules"),
    )
    spec = apply_overrides(snapshot.spec, config)
    return create_run_record(
        store,
        spec,
        config,
        snapshot.pipeline_id,
        snapshot.id,
        snapshot.stack_id,
        False,
        triggered_by_step_run_id,
        create=create,
    )


def runner_command(run_id: str) -> tuple[str, ...]:
    """The runner's arguments after the interpreter (``RunJob.command``)."""
    return ("-m", "headrace.execution.snapshot_runs", run_id)


def spawn_runner(store: Store, run: PipelineRunResponse) -> subprocess.Popen[bytes]:
    """Start ``python -m headrace.execution.snapshot_runs RUN_ID`` in a new session and
    record it as the run's driver (the runner claims the run again when it starts)."""
    environment = dict(os.environ)
    environment[ENV_STORE_URL] = store.url
    artifact_root = Path(artifact_store_of(store, run.stack_id).path)
    log_path = (
        artifact_root / "logs" / run.id / "runner.log" if artifact_root.is_absolute() else None
    )
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path or os.devnull, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "headrace.execution.snapshot_runs", run.id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,  # the run goes on if the caller exits
            cwd=os.getcwd(),
        )
    store.update_run(
        run.id,
        PipelineRunUpdate(driver_pid=process.pid, driver_started=process_started(process.pid)),
    )
    return process


def run_snapshot_run(store: Store, run_id: str) -> PipelineRunResponse:
    """Execute a recorded run of a snapshot in this (fresh) process, or, when the
    stack's orchestrator drives runs elsewhere (a Kubernetes driver pod), start that
    driver and follow the run until it ends."""
    from headrace.execution.orchestrators.registry import build_orchestrator

    state = snapshot_run_state(store, run_id)
    stack = store.get_stack(state.run.stack_id)
    orchestrator = build_orchestrator(stack, state.spec.config.settings)
    driver = orchestrator.remote_driver(state)
    if driver is not None:
        from headrace.execution.remote_runs import run_remotely

        return run_remotely(state, orchestrator, driver, synchronous=True)
    return execute(state, orchestrator)


def snapshot_run_state(store: Store, run_id: str) -> RunState:
    """The state of a recorded run of a snapshot, with the snapshot's code unpacked and
    imported from (never from the working tree) and the run's overrides applied."""
    run = store.get_run(run_id)
    if run.snapshot_id is None:
        raise SnapshotError(f"Run {run.name!r} does not come from a snapshot.")
    snapshot = store.get_snapshot(run.snapshot_id)
    check_runnable(snapshot)
    artifact_store = artifact_store_of(store, run.stack_id)
    use_code(snapshot.extra["code"], artifact_store)
    config = PipelineRunConfiguration.model_validate(run.config)
    spec = snapshot.spec
    objects: dict[str, Any] = {}
    if changes_parameters(spec, config):
        config = changed_step_parameters(spec, config)
        spec, objects = recompiled_spec(store, snapshot, run, config)
    spec = apply_overrides(spec, config)
    return RunState(store=store, run=run, spec=spec, objects=objects, artifact_store=artifact_store)


def use_code(archive: dict[str, Any], artifact_store: ArtifactStore) -> Path:
    """Unpack a code archive (verified against its digest) and make this process import
    from it and run in it, as the project's source root."""
    from headrace.snapshots.code_cache import default_code_cache, extract_code

    code_directory = extract_code(archive, artifact_store, default_code_cache(artifact_store))
    os.environ[ENV_SOURCE_ROOT] = str(code_directory)
    sys.path.insert(0, str(code_directory))
    os.chdir(code_directory)
    return code_directory


def main(argv: list[str] | None = None) -> int:
    """Entry point of the runner process: ``python -m headrace.execution.snapshot_runs ID``."""
    from headrace.store.factory import get_store

    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m headrace.execution.snapshot_runs RUN_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = get_store()
    try:
        run_snapshot_run(store, args[0])
    except RunFailedError as exc:
        logger.error("%s", exc)
        return 1
    except Exception as exc:  # recorded on the run, so the caller learns why
        logger.exception("The runner could not execute run %s", args[0])
        run = store.get_run(args[0])
        if not run.status.is_finished:
            from datetime import UTC, datetime

            store.update_run(
                run.id,
                PipelineRunUpdate(
                    status=ExecutionStatus.FAILED,
                    end_time=datetime.now(UTC),
                    status_reason=f"{type(exc).__name__}: {exc}",
                ),
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
