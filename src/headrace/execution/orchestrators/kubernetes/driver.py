"""The driver pod's entry point: ``python -m headrace.execution.orchestrators.kubernetes.
driver --run-id RUN [--code-digest D --code-uri U]``.

Everything comes from the store (``HEADRACE_STORE_URL``): the run, the spec of its
snapshot, its stack and the orchestrator's configuration with the pipeline's settings
applied; the code archive (the snapshot's, or the one the launching process made for
this run, named by the arguments) comes from the artifact store and is imported from.
The run is then executed like any other run in this process (heartbeat, stop
requests, signals, a recorded end), on the ``kubernetes`` orchestrator with a pod per
step, each owned by this pod, or, with ``run_steps_in_driver``, on the local
orchestrator: every step in this pod.

In a real pod the cluster is reached with the pod's service account (in-cluster
configuration, ``KUBERNETES_SERVICE_HOST`` is set); elsewhere with the configured
kubeconfig.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus
from headrace.exceptions import OrchestratorError, RunFailedError
from headrace.models import PipelineRunUpdate
from headrace.utils.terminal import headrace_logger

if TYPE_CHECKING:
    from headrace.execution.orchestrators.base import BaseOrchestrator
    from headrace.execution.run_state import RunState
    from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig
    from headrace.store.base import Store

logger = headrace_logger()


def driver_state(store: Store, run_id: str, code: dict[str, str] | None) -> RunState:
    """The run as this driver executes it."""
    from headrace.artifacts.loading import artifact_store_of
    from headrace.execution.run_state import RunState
    from headrace.execution.snapshot_runs import snapshot_run_state, use_code
    from headrace.execution.step_task import CodeLocation

    run = store.get_run(run_id)
    if run.snapshot_id is None:
        raise OrchestratorError(
            f"Run {run.name!r} has no snapshot: a driver pod reads its spec there."
        )
    snapshot = store.get_snapshot(run.snapshot_id)
    if snapshot.runnable and "code" in snapshot.extra:  # a run of a stored snapshot
        state = snapshot_run_state(store, run_id)
    else:  # a run of pipeline called in Python: its spec is the snapshot's as recorded
        artifact_store = artifact_store_of(store, run.stack_id)
        if code is not None:
            use_code(code, artifact_store)
        state = RunState(store, run, snapshot.spec, {}, artifact_store)
    if code is not None:
        state.code = CodeLocation(code["digest"], code["uri"])
    return state


def driver_orchestrator(state: RunState) -> BaseOrchestrator:
    """The orchestrator the driver runs the steps on."""
    from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig
    from headrace.stacks.settings import orchestrator_configuration

    stack = state.store.get_stack(state.run.stack_id)
    config = orchestrator_configuration(stack, state.spec.config.settings)
    if not isinstance(config, KubernetesOrchestratorConfig):
        raise OrchestratorError(
            f"The stack of run {state.run.name!r} has no kubernetes orchestrator."
        )
    if config.run_steps_in_driver:
        from headrace.execution.orchestrators.local import LocalOrchestrator
        from headrace.stacks.configs import LocalOrchestratorConfig

        return LocalOrchestrator(LocalOrchestratorConfig(max_parallelism=config.max_parallelism))
    from headrace.execution.orchestrators.kubernetes.orchestrator import KubernetesOrchestrator

    in_cluster = config.incluster or bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    steps = KubernetesOrchestrator(
        config.model_copy(update={"driver_pod": False, "incluster": in_cluster})
    )
    steps.owner = _this_pod(config.model_copy(update={"incluster": in_cluster}))
    return steps


def _this_pod(config: KubernetesOrchestratorConfig) -> Any:
    """An owner reference to this driver pod (its step pods go when it goes), or
    ``None`` when the pod cannot be read."""
    from headrace.execution.orchestrators.kubernetes.api import core_api
    from headrace.execution.orchestrators.kubernetes.driver_pod import DRIVER_POD_ENV
    from headrace.execution.orchestrators.kubernetes.manifests import owner_reference

    name = os.environ.get(DRIVER_POD_ENV)
    if not name:
        return None
    api = core_api(config)
    try:
        uid = api.read_namespaced_pod(name, config.kubernetes_namespace).metadata.uid
    except Exception as exc:  # no "get pods" right: the step pods are deleted by the run's end
        logger.warning(
            "Cannot read this driver pod %s (%s); step pods will not be owned by it.", name, exc
        )
        return None
    finally:
        api.api_client.close()
    return owner_reference(name, uid)


def drive(store: Store, run_id: str, code: dict[str, str] | None) -> int:
    """Execute the run; the exit code of the driver pod."""
    from headrace.execution.launcher import execute

    run = store.get_run(run_id)
    if run.status.is_finished:
        logger.warning("Run %s already ended (%s); nothing to drive.", run.name, run.status.value)
        return 0
    if run.stop_requested:
        store.update_run(
            run.id,
            PipelineRunUpdate(
                status=ExecutionStatus.STOPPED,
                end_time=datetime.now(UTC),
                status_reason="the run was stopped on request before its driver pod started",
            ),
        )
        return 0
    state = driver_state(store, run_id, code)
    try:
        execute(state, driver_orchestrator(state))
    except RunFailedError as exc:
        logger.error("%s", exc)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, drive the run; a run that could not even start is recorded
    failed with the reason."""
    from headrace.store.factory import get_store

    parser = argparse.ArgumentParser(prog="python -m " + __name__.rpartition(".")[0] + ".driver")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--code-digest")
    parser.add_argument("--code-uri")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    code = None
    if args.code_digest and args.code_uri:
        code = {"digest": args.code_digest, "uri": args.code_uri}
    store = get_store()
    try:
        return drive(store, args.run_id, code)
    except Exception as exc:  # recorded on the run, so the launching side learns why
        logger.exception("The driver could not execute run %s", args.run_id)
        run = store.get_run(args.run_id)
        if not run.status.is_finished:
            store.update_run(
                run.id,
                PipelineRunUpdate(
                    status=ExecutionStatus.FAILED,
                    end_time=datetime.now(UTC),
                    status_reason=f"the driver pod failed: {type(exc).__name__}: {exc}",
                ),
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
