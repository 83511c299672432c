"""``Client``: the Python entry point to everything in the store.

A thin facade over the ``Store`` interface: it picks the store (the one of the running
step when called inside a step, else the configured one) and offers the seeds' method
names with keyword filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from headrace.client_options import build_filter, method_options
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.enums import (
    AccountRole,
    ExecutionStatus,
    ModelStages,
    StackComponentType,
    TaggableResourceType,
)
from headrace.exceptions import ConfigurationError, EntityNotFoundError
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionResponse,
    ModelFilter,
    ModelResponse,
    ModelVersionFilter,
    ModelVersionResponse,
    ModelVersionUpdate,
    Page,
    PipelineFilter,
    PipelineResponse,
    PipelineRunFilter,
    PipelineRunResponse,
    SecretResponse,
    SnapshotFilter,
    SnapshotResponse,
    SnapshotUpdate,
    StackComponentFilter,
    StackComponentRequest,
    StackComponentResponse,
    StackComponentUpdate,
    StackFilter,
    StackRequest,
    StackResponse,
    StackUpdate,
    StepRunResponse,
    TagResponse,
)

if TYPE_CHECKING:
    from headrace.models.account import (
        APIKeyResponse,
        ServiceAccountResponse,
        UserResponse,
    )
    from headrace.models.schedule import ScheduleResponse

from headrace.models.tag import clean_tags
from headrace.stacks.flavors import component_type_of
from headrace.store.base import Store
from headrace.store.factory import active_store

R = TypeVar("R", bound=BaseModel)


class Client:
    """Read and manage pipelines, runs, artifacts and snapshots.

    Args:
        store: the store to use; by default the running step's store inside a step,
            else the store ``HEADRACE_STORE_URL`` or the repository points to.
    """

    def __init__(self, store: Store | None = None) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        """The store this client talks to."""
        if self._store is None:
            self._store = active_store()
        return self._store

    # -- stacks -------------------------------------------------------------------------
    @property
    def active_stack(self) -> StackResponse:
        """The stack runs use, with ``.orchestrator``, ``.artifact_store`` and ``.alerter``."""
        return self.store.get_active_stack()

    @property
    def active_stack_model(self) -> StackResponse:
        """The active stack (ZenML's name for the same record)."""
        return self.active_stack

    def activate_stack(self, name_id_or_prefix: str) -> StackResponse:
        """Make a stack the active one; later runs of this store use it."""
        return self.store.set_active_stack(str(name_id_or_prefix))

    def get_stack(self, name_id_or_prefix: str | None = None) -> StackResponse:
        """A stack by name or id (default: the active stack)."""
        if name_id_or_prefix is None:
            return self.active_stack
        return self.store.get_stack(str(name_id_or_prefix))

    def list_stacks(self, **filters: Any) -> Page[StackResponse]:
        """Stacks by name (filters: ``name``, ``component_id``, ``page``, ``size``, ...)."""
        return self.store.list_stacks(StackFilter(**filters))

    def create_stack(self, name: str, components: Mapping[Any, str]) -> StackResponse:
        """Register a stack from component names or ids by type (a ``StackComponentType``
        or its value, e.g. ``{"orchestrator": "ray", "artifact_store": "default"}``)."""
        request = StackRequest(
            name=name, components={component_type_of(t): str(c) for t, c in components.items()}
        )
        return self.store.create_stack(request)

    def update_stack(
        self,
        name_id_or_prefix: str | None = None,
        name: str | None = None,
        component_updates: Mapping[Any, str | None] | None = None,
    ) -> StackResponse:
        """Rename a stack and/or set (name or id) or remove (``None``) its components."""
        stack = self.get_stack(name_id_or_prefix)
        updates = {component_type_of(t): c for t, c in (component_updates or {}).items()}
        updated = self.store.update_stack(stack.id, StackUpdate(name=name, components=updates))
        _forget_artifact_stores()
        return updated

    def delete_stack(self, name_id_or_prefix: str) -> None:
        """Delete a stack that is neither the default, the active one, nor recorded by runs."""
        self.store.delete_stack(str(name_id_or_prefix))
        _forget_artifact_stores()

    def create_stack_component(
        self,
        name: str,
        flavor: str,
        component_type: StackComponentType | str,
        configuration: Mapping[str, Any] | None = None,
    ) -> StackComponentResponse:
        """Register a component; the configuration is checked against the flavor."""
        request = StackComponentRequest(
            name=name,
            type=component_type_of(component_type),
            flavor=flavor,
            configuration=dict(configuration or {}),
        )
        return self.store.create_stack_component(request)

    def get_stack_component(
        self, component_type: StackComponentType | str, name_id_or_prefix: str | None = None
    ) -> StackComponentResponse:
        """A component by name or id (default: the active stack's component of the type)."""
        type_ = component_type_of(component_type)
        if name_id_or_prefix is None:
            found = self.active_stack.component(type_)
            if found is None:
                raise EntityNotFoundError(f"The active stack has no {type_.label}.")
            return found
        return self.store.get_stack_component(str(name_id_or_prefix), type_)

    def list_stack_components(self, **filters: Any) -> Page[StackComponentResponse]:
        """Components by name (filters: ``type``, ``flavor``, ``name``, ``page``, ...)."""
        if filters.get("type") is not None:
            filters["type"] = component_type_of(filters["type"])
        return self.store.list_stack_components(StackComponentFilter(**filters))

    def update_stack_component(
        self,
        name_id_or_prefix: str,
        component_type: StackComponentType | str,
        name: str | None = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> StackComponentResponse:
        """Rename a component and/or change its configuration: given keys are set, keys
        given as ``None`` return to their default."""
        type_ = component_type_of(component_type)
        new_configuration = None
        if configuration is not None:
            current = self.store.get_stack_component(str(name_id_or_prefix), type_)
            merged = {**current.configuration, **configuration}
            new_configuration = {k: v for k, v in merged.items() if v is not None}
        updated = self.store.update_stack_component(
            str(name_id_or_prefix),
            StackComponentUpdate(name=name, configuration=new_configuration),
            type_,
        )
        _forget_artifact_stores()
        return updated

    def delete_stack_component(
        self, name_id_or_prefix: str, component_type: StackComponentType | str
    ) -> None:
        """Delete a component no stack uses."""
        self.store.delete_stack_component(str(name_id_or_prefix), component_type_of(component_type))

    # -- pipelines ----------------------------------------------------------------------
    def get_pipeline(self, name_id_or_prefix: str, **options: Any) -> PipelineResponse:
        """A pipeline by name or id (ZenML's ``project=``, ``hydrate=`` are accepted)."""
        method_options("get_pipeline", options, frozenset())
        return self.store.get_pipeline(str(name_id_or_prefix))

    def list_pipelines(self, **filters: Any) -> Page[PipelineResponse]:
        """Pipelines (filters: ``name``, ``tag``, ``page``, ``size``, ``sort_by``, ...)."""
        return self.store.list_pipelines(build_filter(PipelineFilter, "list_pipelines", filters))

    # -- runs ---------------------------------------------------------------------------
    def get_pipeline_run(self, name_id_or_prefix: str, **options: Any) -> PipelineRunResponse:
        """A pipeline run by name, id or unique id prefix."""
        method_options("get_pipeline_run", options, frozenset({"allow_name_prefix_match"}))
        return self.store.get_run(str(name_id_or_prefix))

    def list_pipeline_runs(self, **filters: Any) -> Page[PipelineRunResponse]:
        """Pipeline runs, newest first (filters: ``pipeline_id``, ``pipeline_name``,
        ``status``, ``tag``, ``model_version_id``, ``name``, ``page``, ``size``, ``sort_by``,
        ``unlisted`` (``True``: only runs of single steps, ``False``: only pipeline runs),
        ``pipeline`` (a name or id), ...)."""
        if isinstance(filters.get("status"), str):
            filters["status"] = _status(filters["status"])
        if filters.get("pipeline") is not None:
            filters["pipeline_id"] = self.get_pipeline(str(filters.pop("pipeline"))).id
        filters.pop("pipeline", None)
        return self.store.list_runs(build_filter(PipelineRunFilter, "list_pipeline_runs", filters))

    def stop_pipeline_run(
        self, name_id_or_prefix: str, graceful: bool = False
    ) -> PipelineRunResponse:
        """Stop a run, wherever its driving process runs.

        A run still waiting in a server's queue ends ``stopped`` at once and never
        starts. For a running one the request is recorded in the store and its driver
        notices within a second or two: ``graceful`` starts nothing new and lets running
        steps finish; otherwise running steps are interrupted. A run that already ended
        is returned unchanged.
        """
        return self.store.stop_run(str(name_id_or_prefix), graceful=graceful)

    def get_runner_logs(self, name_id_or_prefix: str) -> str:
        """What the runner of a run a server launched printed (its workload manager's
        output: unpacking the code, starting the run, errors before the first step)."""
        run = self.get_pipeline_run(name_id_or_prefix)
        return self.store.get_runner_logs(run.id)

    def resume_pipeline_run(self, name_id_or_prefix: str) -> PipelineRunResponse:
        """A new run of a failed or stopped run's snapshot that reuses every step the old
        run completed (even with caching off) and runs the rest.

        A run of a named snapshot is started by the snapshot's runner and returned at
        once (``run.wait()``); any other run executes in this process.
        """
        from headrace.execution.resume import resume_run

        return resume_run(self.store, str(name_id_or_prefix))

    def get_run_step(self, step_run_id: str) -> StepRunResponse:
        """A step run by id."""
        return self.store.get_step_run(str(step_run_id))

    def get_run_logs(self, name_id_or_prefix: str, step: str | None = None) -> dict[str, str]:
        """What each step of a run printed and logged, by invocation id (or one step)."""
        run = self.get_pipeline_run(name_id_or_prefix)
        steps = run.steps
        if step is not None:
            if step not in steps:
                raise EntityNotFoundError(
                    f"Run {run.name!r} has no step {step!r} (steps: {', '.join(steps)})."
                )
            steps = {step: steps[step]}
        return {name: step_run.logs for name, step_run in steps.items()}

    # -- snapshots ----------------------------------------------------------------------
    def get_snapshot(self, name_id_or_prefix: str, **options: Any) -> SnapshotResponse:
        """A snapshot by name, id or unique id prefix (ZenML's ``hydrate=``, ``project=``,
        ``allow_name_prefix_match=`` and ``include_config_schema=`` are accepted)."""
        method_options("get_snapshot", options, frozenset({"allow_name_prefix_match"}))
        return self.store.get_snapshot(str(name_id_or_prefix))

    def list_snapshots(self, pipeline: str | None = None, **filters: Any) -> Page[SnapshotResponse]:
        """Named snapshots, newest first (``pipeline``: a pipeline name or id)."""
        if pipeline is not None:
            filters["pipeline_id"] = self.get_pipeline(pipeline).id
        return self.store.list_snapshots(build_filter(SnapshotFilter, "list_snapshots", filters))

    def create_snapshot_from_run(
        self,
        run_name_id_or_prefix: str,
        name: str,
        description: str | None = None,
        replace: bool = False,
    ) -> SnapshotResponse:
        """A named, runnable snapshot that runs exactly what a past run ran: its graph,
        configuration and code (see ``headrace.execution.snapshot_from_run``)."""
        from headrace.execution.snapshot_from_run import create_snapshot_from_run

        return create_snapshot_from_run(
            self.store, run_name_id_or_prefix, name, description=description, replace=replace
        )

    def delete_snapshot(self, name_id_or_prefix: str) -> None:
        """Delete a snapshot; runs made from it stay readable."""
        self.store.delete_snapshot(str(name_id_or_prefix))

    def trigger_pipeline(
        self,
        pipeline_name_or_id: str | None = None,
        run_configuration: PipelineRunConfiguration | dict[str, Any] | None = None,
        config_path: str | None = None,
        snapshot_name_or_id: str | None = None,
        synchronous: bool = False,
    ) -> PipelineRunResponse:
        """Start a run of a snapshot; returns the new run at once (``run.wait()`` waits).

        Give ``snapshot_name_or_id``, or ``pipeline_name_or_id`` to run the newest
        runnable snapshot of that pipeline. The run configuration is checked against the
        snapshot's parameter schema first; nothing runs if it does not fit. Inside a step,
        the new run records the step that triggered it.
        """
        from headrace.execution.context import _STEP_CONTEXT
        from headrace.execution.snapshot_runs import trigger_snapshot

        snapshot = self._snapshot_to_run(pipeline_name_or_id, snapshot_name_or_id)
        if config_path is not None:
            if run_configuration is not None:
                raise ConfigurationError("Give run_configuration or config_path, not both.")
            from headrace.config.run_config_file import load_run_configuration

            run_configuration = load_run_configuration(
                config_path,
                pipeline_parameters=snapshot.spec.parameters,
                step_names=snapshot.spec.steps,
            )
        context = _STEP_CONTEXT.get()
        triggered_by = context.step_run_id if context is not None else None
        # A server validates, records and starts the run on its own machine.
        started = self.store.start_snapshot_run(
            snapshot.id, run_configuration, triggered_by_step_run_id=triggered_by
        )
        run = started or trigger_snapshot(
            self.store, snapshot, run_configuration, triggered_by_step_run_id=triggered_by
        )
        return run.wait() if synchronous else run

    def _snapshot_to_run(
        self, pipeline_name_or_id: str | None, snapshot_name_or_id: str | None
    ) -> SnapshotResponse:
        if (pipeline_name_or_id is None) == (snapshot_name_or_id is None):
            raise ConfigurationError(
                "trigger_pipeline needs exactly one of snapshot_name_or_id or pipeline_name_or_id."
            )
        if snapshot_name_or_id is not None:
            return self.get_snapshot(snapshot_name_or_id)
        assert pipeline_name_or_id is not None
        pipeline_model = self.get_pipeline(pipeline_name_or_id)
        page = self.store.list_snapshots(
            SnapshotFilter(pipeline_id=pipeline_model.id, size=1, sort_by="desc:created")
        )
        runnable = [s for s in page.items if s.runnable]
        if not runnable:
            raise EntityNotFoundError(
                f"Pipeline {pipeline_model.name!r} has no runnable snapshot; create one with "
                f"`{pipeline_model.name}.create_snapshot(name=...)` or `headrace pipeline "
                "snapshot create`."
            )
        return runnable[0]

    # -- schedules ----------------------------------------------------------------------
    def get_schedule(self, name_id_or_prefix: str) -> ScheduleResponse:
        """A schedule by name, id or unique id prefix."""
        return self.store.get_schedule(str(name_id_or_prefix))

    def list_schedules(self, pipeline: str | None = None, **filters: Any) -> Page[ScheduleResponse]:
        """Schedules, newest first (``pipeline``: a pipeline name or id; ``active``,
        ``snapshot_id`` and the usual paging filters)."""
        from headrace.models import ScheduleFilter

        if pipeline is not None:
            filters["pipeline_id"] = self.get_pipeline(pipeline).id
        return self.store.list_schedules(build_filter(ScheduleFilter, "list_schedules", filters))

    def update_schedule(self, name_id_or_prefix: str, **changes: Any) -> ScheduleResponse:
        """Change a schedule: ``active=False`` pauses it, ``active=True`` resumes it;
        ``name``, ``cron_expression``, ``interval_second``, ``start_time``, ``end_time``,
        ``run_once_start_time``, ``catchup`` and ``run_configuration`` can change too."""
        from headrace.config.schedule_times import seconds_of
        from headrace.models.schedule import ScheduleUpdate

        if "interval_second" in changes:
            changes["interval_second"] = seconds_of(changes["interval_second"])
        update = _request(ScheduleUpdate, **changes)
        return self.store.update_schedule(str(name_id_or_prefix), update)

    def delete_schedule(self, name_id_or_prefix: str) -> None:
        """Delete a schedule; its snapshot and the runs it made stay."""
        self.store.delete_schedule(str(name_id_or_prefix))

    # -- secrets ------------------------------------------------------------------------
    def create_secret(self, name: str, values: dict[str, str]) -> SecretResponse:
        """Store a secret, encrypted at rest."""
        return self.store.create_secret(name, values)

    def get_secret(self, name_or_id: str) -> SecretResponse:
        """A secret with its values (``.secret_values``)."""
        return self.store.get_secret(name_or_id, with_values=True)

    def list_secrets(self) -> list[SecretResponse]:
        """All secrets, without their values."""
        return self.store.list_secrets()

    def update_secret(
        self, name_or_id: str, values: dict[str, str], replace: bool = False
    ) -> SecretResponse:
        """Add or change keys of a secret; ``replace`` drops the keys not given."""
        return self.store.update_secret(name_or_id, values, replace=replace)

    def delete_secret(self, name_or_id: str) -> None:
        """Remove a secret."""
        self.store.delete_secret(name_or_id)

    # -- artifacts ----------------------------------------------------------------------
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        """A named artifact."""
        return self.store.get_artifact(str(name_or_id))

    def get_artifact_version(
        self, name_id_or_prefix: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        """An artifact version by id, or by artifact name and version (latest if omitted)."""
        return self.store.get_artifact_version(str(name_id_or_prefix), version)

    def list_artifact_versions(self, **filters: Any) -> Page[ArtifactVersionResponse]:
        """Artifact versions (filters: ``artifact_name``, ``artifact_id``, ``data_type``,
        ``tag`` (on the version or its artifact), ``model_version_id``, ...)."""
        return self.store.list_artifact_versions(
            build_filter(ArtifactVersionFilter, "list_artifact_versions", filters)
        )

    # -- models -------------------------------------------------------------------------
    def get_model(self, model_name_or_id: str) -> ModelResponse:
        """A model by name or id."""
        return self.store.get_model(str(model_name_or_id))

    def list_models(self, **filters: Any) -> Page[ModelResponse]:
        """Models, newest first (filters: ``name``, ``tag``, ``page``, ``size``, ...)."""
        return self.store.list_models(build_filter(ModelFilter, "list_models", filters))

    def get_model_version(
        self,
        model_name_or_id: str,
        model_version_name_or_number_or_id: str | int | ModelStages | None = None,
    ) -> ModelVersionResponse:
        """A model version by model and version name, number or stage (``latest``,
        ``staging``, ``production``, ``archived``); the latest when no version is given.
        A model version id alone works too."""
        version = model_version_name_or_number_or_id
        if isinstance(version, ModelStages):
            version = version.value
        return self.store.get_model_version(str(model_name_or_id), version)

    def list_model_versions(
        self, model_name_or_id: str, **filters: Any
    ) -> Page[ModelVersionResponse]:
        """Versions of a model, newest first (filters: ``stage``, ``tag``, ``name``,
        ``page``, ``size``, ``sort_by`` such as ``asc:number``, ...)."""
        model = self.get_model(model_name_or_id)
        if isinstance(filters.get("stage"), str):
            filters["stage"] = _stage(filters["stage"])
        filters["model_id"] = model.id
        return self.store.list_model_versions(
            build_filter(ModelVersionFilter, "list_model_versions", filters)
        )

    def update_model_version(
        self,
        model_name_or_id: str,
        version_name_or_id: str | int,
        stage: str | ModelStages | None = None,
        force: bool = False,
        name: str | None = None,
        description: str | None = None,
        add_tags: list[str] | None = None,
        remove_tags: list[str] | None = None,
    ) -> ModelVersionResponse:
        """Promote, rename, describe or tag a model version.

        Putting a version in ``staging`` or ``production`` while another version holds
        that stage raises ``StoreError`` naming the holder, unless ``force`` is set: then
        the holder is archived.
        """
        version = self.get_model_version(model_name_or_id, version_name_or_id)
        update = ModelVersionUpdate(
            stage=None if stage is None else _stage(stage),
            force=force,
            name=name,
            description=description,
        )
        # Tags are checked before anything changes, and applied once the update held.
        to_add, to_remove = clean_tags(add_tags or []), clean_tags(remove_tags or [])
        updated = self.store.update_model_version(version.id, update)
        if not to_add and not to_remove:
            return updated
        if to_add:
            self.store.add_tags(TaggableResourceType.MODEL_VERSION, version.id, to_add)
        if to_remove:
            self.store.remove_tags(TaggableResourceType.MODEL_VERSION, version.id, to_remove)
        return self.store.get_model_version(version.id)

    # -- tags ---------------------------------------------------------------------------
    def list_tags(self) -> list[TagResponse]:
        """Every tag, by name, with how many entities carry it."""
        return self.store.list_tags()

    # -- users --------------------------------------------------------------------------
    def create_user(
        self, name: str, password: str, role: AccountRole | str = AccountRole.VIEWER
    ) -> UserResponse:
        """Create a user who logs in to a server with ``password`` (stored as a hash)."""
        from headrace.models.account import UserRequest

        return self.store.create_user(
            _request(UserRequest, name=name, password=password, role=role)
        )

    def get_user(self, name_id_or_prefix: str) -> UserResponse:
        """A user by name, id or unique id prefix."""
        return self.store.get_user(str(name_id_or_prefix))

    def list_users(self, **filters: Any) -> Page[UserResponse]:
        """Users (filters: ``name``, ``role``, ``active``, ``page``, ``size``, ``sort_by``)."""
        from headrace.models.account import UserFilter

        return self.store.list_users(_request(UserFilter, **filters))

    def update_user(
        self,
        name_id_or_prefix: str,
        role: AccountRole | str | None = None,
        password: str | None = None,
        active: bool | None = None,
    ) -> UserResponse:
        """Change a user's role, password or active flag (the last active admin stays)."""
        from headrace.models.account import UserUpdate

        update = _request(UserUpdate, role=role, password=password, active=active)
        return self.store.update_user(str(name_id_or_prefix), update)

    def deactivate_user(self, name_id_or_prefix: str) -> UserResponse:
        """Deactivate a user: logins and the user's tokens stop working at once."""
        return self.update_user(name_id_or_prefix, active=False)

    # -- service accounts and API keys --------------------------------------------------
    def create_service_account(
        self,
        name: str,
        role: AccountRole | str = AccountRole.VIEWER,
        description: str | None = None,
    ) -> ServiceAccountResponse:
        """Create a service account: an identity for a program, which logs in with API keys."""
        from headrace.models.account import ServiceAccountRequest

        request = _request(ServiceAccountRequest, name=name, role=role, description=description)
        return self.store.create_service_account(request)

    def get_service_account(self, name_id_or_prefix: str) -> ServiceAccountResponse:
        """A service account by name, id or unique id prefix."""
        return self.store.get_service_account(str(name_id_or_prefix))

    def list_service_accounts(self, **filters: Any) -> Page[ServiceAccountResponse]:
        """Service accounts (filters: ``name``, ``role``, ``active``, ``page``, ``size``)."""
        from headrace.models.account import ServiceAccountFilter

        return self.store.list_service_accounts(_request(ServiceAccountFilter, **filters))

    def update_service_account(
        self,
        name_id_or_prefix: str,
        role: AccountRole | str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> ServiceAccountResponse:
        """Change a service account's role, description or active flag."""
        from headrace.models.account import ServiceAccountUpdate

        update = _request(ServiceAccountUpdate, role=role, description=description, active=active)
        return self.store.update_service_account(str(name_id_or_prefix), update)

    def deactivate_service_account(self, name_id_or_prefix: str) -> ServiceAccountResponse:
        """Deactivate a service account: its keys and tokens stop working at once."""
        return self.update_service_account(name_id_or_prefix, active=False)

    def create_api_key(
        self,
        service_account_name_id_or_prefix: str,
        name: str,
        description: str | None = None,
        expires_in: timedelta | None = None,
    ) -> APIKeyResponse:
        """Create an API key; the response's ``key`` is the only time the key is shown."""
        from headrace.models.account import APIKeyRequest

        if expires_in is not None and expires_in <= timedelta(0):
            raise ConfigurationError(f"expires_in must be positive, not {expires_in}.")
        expires = None if expires_in is None else datetime.now(UTC) + expires_in
        request = _request(APIKeyRequest, name=name, description=description, expires=expires)
        return self.store.create_api_key(str(service_account_name_id_or_prefix), request)

    def get_api_key(
        self, service_account_name_id_or_prefix: str, name_id_or_prefix: str
    ) -> APIKeyResponse:
        """One API key of a service account (without the key itself)."""
        return self.store.get_api_key(
            str(service_account_name_id_or_prefix), str(name_id_or_prefix)
        )

    def list_api_keys(
        self, service_account_name_id_or_prefix: str, **filters: Any
    ) -> Page[APIKeyResponse]:
        """API keys of a service account (filters: ``name``, ``include_revoked``, ...)."""
        from headrace.models.account import APIKeyFilter

        return self.store.list_api_keys(
            str(service_account_name_id_or_prefix), _request(APIKeyFilter, **filters)
        )

    def revoke_api_key(
        self, service_account_name_id_or_prefix: str, name_id_or_prefix: str
    ) -> APIKeyResponse:
        """Revoke an API key: it and the tokens made from it stop working at once."""
        return self.store.revoke_api_key(
            str(service_account_name_id_or_prefix), str(name_id_or_prefix)
        )

    def set_snapshot_access(
        self,
        name_id_or_prefix: str,
        users: Sequence[str] | None = None,
        roles: Sequence[AccountRole | str] | None = None,
    ) -> SnapshotResponse:
        """Limit who may run a snapshot on a server to named accounts or roles (``None``
        keeps a list, an empty list clears it; both empty: every editor and admin)."""
        update = _request(
            SnapshotUpdate,
            allowed_users=None if users is None else list(users),
            allowed_roles=None if roles is None else list(roles),
        )
        return self.store.update_snapshot(str(name_id_or_prefix), update)


def _request(model: type[R], **fields: Any) -> R:
    """``model`` built from ``fields``, or a ``ConfigurationError`` naming each bad field.

    Raises:
        ConfigurationError: one line per problem, ``field: message``.
    """
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'value'}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise ConfigurationError("Invalid input:\n  " + "\n  ".join(problems)) from exc


def _status(value: str) -> ExecutionStatus:
    """A run status from its name (any case).

    Raises:
        ConfigurationError: not a status.
    """
    try:
        return ExecutionStatus(value.lower())
    except ValueError:
        names = ", ".join(status.value for status in ExecutionStatus)
        raise ConfigurationError(f"Unknown run status {value!r}; statuses: {names}.") from None


def _stage(value: str | ModelStages) -> ModelStages:
    """A stage from its name (any case).

    Raises:
        ConfigurationError: not a stage.
    """
    if isinstance(value, ModelStages):
        return value
    try:
        return ModelStages(str(value).lower())
    except ValueError:
        names = ", ".join(stage.value for stage in ModelStages)
        raise ConfigurationError(f"Unknown model stage {value!r}; stages: {names}.") from None


def _forget_artifact_stores() -> None:
    """Artifact stores are looked up once per stack; a changed stack must be read again."""
    from headrace.artifacts.loading import forget_artifact_stores

    forget_artifact_stores()
