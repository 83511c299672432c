"""The ``Store`` interface every metadata backend implements.

Conventions, fixed here so that the SQL store and the REST store behave alike:

* Verbs: ``create_*`` stores a new entity and returns its response; ``get_*`` takes a
  name or id (ids may be given as a unique prefix of at least 4 characters) and raises
  ``EntityNotFoundError`` when nothing matches; ``list_*`` takes a filter model and returns
  a ``Page``; ``update_*`` applies the fields an update model set; ``delete_*`` removes
  one entity and raises ``EntityNotFoundError`` if it is gone already.
* Children name their parent by id (``pipeline_run_id``, ``artifact_id``, ...).
* A unique name that is taken raises ``EntityExistsError`` naming the existing entity.
* Every response is attached to the store that made it, so links can be followed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from headrace.enums import (
    AccountKind,
    ExecutionStatus,
    MetadataResourceType,
    StackComponentType,
    TaggableResourceType,
)
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionRequest,
    ArtifactVersionResponse,
    DeploymentFilter,
    DeploymentRequest,
    DeploymentResponse,
    DeploymentUpdate,
    ModelFilter,
    ModelResponse,
    ModelVersionFilter,
    ModelVersionRequest,
    ModelVersionResponse,
    ModelVersionUpdate,
    Page,
    PipelineFilter,
    PipelineResponse,
    PipelineRunFilter,
    PipelineRunRequest,
    PipelineRunResponse,
    PipelineRunUpdate,
    QueueEntry,
    SecretResponse,
    SnapshotFilter,
    SnapshotRequest,
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
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
    TagResponse,
)
from headrace.models.step_run import CacheHit, StepRunOverview

if TYPE_CHECKING:
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
    from headrace.models import ScheduleFilter
    from headrace.models.account import (
        APIKeyFilter,
        APIKeyRequest,
        APIKeyResponse,
        Principal,
        ServiceAccountFilter,
        ServiceAccountRequest,
        ServiceAccountResponse,
        ServiceAccountUpdate,
        UserFilter,
        UserRequest,
        UserResponse,
        UserUpdate,
    )
    from headrace.models.schedule import ScheduleRequest, ScheduleResponse, ScheduleUpdate
    from headrace.models.wire import StepRecord


class Store(ABC):
    """Metadata of pipelines, snapshots, runs, step runs, artifacts and stacks."""

    url: str
    # Whether schedules stored here are fired: a server runs a scheduler; a local
    # database has no process that would ever run them.
    has_scheduler: bool = False

    def local_files(self) -> list[str]:
        """Files of this store on the local disk (database, its journals, the secrets key).

        Code archives leave them out when the store lives inside the project tree. A store
        reached over the network has none.
        """
        return []

    # -- stacks -------------------------------------------------------------------------
    @abstractmethod
    def get_default_stack(self) -> StackResponse:
        """The stack named ``default`` (orchestrator and artifact store ``default``),
        created on first use."""

    @abstractmethod
    def get_active_stack(self) -> StackResponse:
        """The stack runs use: the one set with ``set_active_stack``, else the default."""

    @abstractmethod
    def set_active_stack(self, name_or_id: str) -> StackResponse:
        """Make a stack the active one for everyone using this store."""

    @abstractmethod
    def create_stack(self, request: StackRequest) -> StackResponse:
        """Register a stack; it needs an orchestrator and an artifact store.

        Raises ``StackComponentError`` for a missing component type and
        ``EntityNotFoundError`` for a component that does not exist.
        """

    @abstractmethod
    def get_stack(self, name_or_id: str) -> StackResponse:
        """A stack by name or id, with its components."""

    @abstractmethod
    def list_stacks(self, filter_model: StackFilter) -> Page[StackResponse]:
        """Stacks matching the filter, by name."""

    @abstractmethod
    def update_stack(self, name_or_id: str, update: StackUpdate) -> StackResponse:
        """Rename a stack and/or set (id) or remove (``None``) components by type."""

    @abstractmethod
    def delete_stack(self, name_or_id: str) -> None:
        """Remove a stack. The default stack, the active stack and a stack runs,
        snapshots or artifact versions recorded are refused (``StackComponentError``)."""

    @abstractmethod
    def create_stack_component(self, request: StackComponentRequest) -> StackComponentResponse:
        """Register a component; its configuration is checked against its flavor
        (``StackComponentError`` naming an unknown key, the closest one and the allowed)."""

    @abstractmethod
    def get_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> StackComponentResponse:
        """A component by name (unique per type) or id."""

    @abstractmethod
    def list_stack_components(
        self, filter_model: StackComponentFilter
    ) -> Page[StackComponentResponse]:
        """Components matching the filter, by name."""

    @abstractmethod
    def update_stack_component(
        self,
        name_or_id: str,
        update: StackComponentUpdate,
        type: StackComponentType | None = None,
    ) -> StackComponentResponse:
        """Rename a component and/or replace its configuration (checked by its flavor)."""

    @abstractmethod
    def delete_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> None:
        """Remove a component; one a stack uses is refused, naming the stacks."""

    # -- pipelines ----------------------------------------------------------------------
    @abstractmethod
    def get_or_create_pipeline(self, name: str, docstring: str | None = None) -> PipelineResponse:
        """The pipeline of that name, created if it does not exist yet."""

    @abstractmethod
    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        """A pipeline by name or id."""

    @abstractmethod
    def list_pipelines(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        """Pipelines matching the filter."""

    # -- snapshots ----------------------------------------------------------------------
    @abstractmethod
    def create_snapshot(
        self, request: SnapshotRequest, *, replace: bool = False
    ) -> SnapshotResponse:
        """Store a snapshot; an unnamed one equal to a stored one returns that one.

        A taken name raises ``EntityExistsError`` naming the existing snapshot, unless
        ``replace``: then the old snapshot loses the name (its runs keep pointing at it).
        """

    @abstractmethod
    def ensure_snapshot(self, request: SnapshotRequest) -> str:
        """The id of the unnamed snapshot equal to ``request``, stored if it is new.

        What every plain run calls: it reads and returns only the id, never the spec.
        """

    @abstractmethod
    def delete_snapshot(self, name_or_id: str) -> None:
        """Remove a snapshot; runs made from it stay readable."""

    @abstractmethod
    def get_snapshot(self, name_or_id: str) -> SnapshotResponse:
        """A snapshot by name or id."""

    @abstractmethod
    def list_snapshots(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        """Snapshots matching the filter."""

    def start_snapshot_run(
        self,
        snapshot_id: str,
        run_configuration: PipelineRunConfiguration | dict[str, Any] | None,
        *,
        triggered_by_step_run_id: str | None = None,
    ) -> PipelineRunResponse | None:
        """Start a run of a stored snapshot where the store lives, if the store can.

        A server starts runs on its own machine and returns the new run; a local store
        returns ``None`` and the caller starts the runner process itself.
        """
        return None

    # -- schedules ----------------------------------------------------------------------
    @abstractmethod
    def create_schedule(self, request: ScheduleRequest) -> ScheduleResponse:
        """Store a schedule of a snapshot and compute its first fire time.

        Raises:
            ScheduleError: the timing fields do not make a schedule (naming each), or the
                snapshot does not exist.
            EntityExistsError: the name is taken.
        """

    @abstractmethod
    def get_schedule(self, name_or_id: str) -> ScheduleResponse:
        """A schedule by name or id."""

    @abstractmethod
    def list_schedules(self, filter_model: ScheduleFilter) -> Page[ScheduleResponse]:
        """Schedules matching the filter."""

    @abstractmethod
    def update_schedule(self, name_or_id: str, update: ScheduleUpdate) -> ScheduleResponse:
        """Pause (``active=False``), resume, rename or retime a schedule."""

    @abstractmethod
    def delete_schedule(self, name_or_id: str) -> None:
        """Remove a schedule; its snapshot and the runs it made stay."""

    # -- runs ---------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, request: PipelineRunRequest) -> PipelineRunResponse:
        """Record a new pipeline run; its name must be unique."""

    @abstractmethod
    def update_run(self, run_id: str, update: PipelineRunUpdate) -> PipelineRunResponse:
        """Change a run's status, times or outputs."""

    @abstractmethod
    def get_run(self, name_or_id: str) -> PipelineRunResponse:
        """A pipeline run by name or id."""

    @abstractmethod
    def list_runs(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        """Pipeline runs matching the filter."""

    def get_stop_request(self, run_id: str) -> str | None:
        """The run's ``stop_requested`` (``graceful``, ``immediate`` or ``None``) and
        nothing else: a running driver polls it about once a second, so a store may
        answer it without committing this process's deferred step records first (they
        never change it) and without reading the rest of the run."""
        return self.get_run(run_id).stop_requested

    def stop_run(self, run_id: str, *, graceful: bool = False) -> PipelineRunResponse:
        """Stop a run: one still waiting in a server's queue ends ``stopped`` at once and
        never starts; a running one is asked to stop (its driver notices within seconds;
        ``graceful`` lets running steps finish). A run that ended is returned unchanged.
        """
        run = self.get_run(run_id)
        if run.status.is_finished:
            return run
        request = "graceful" if graceful else "immediate"
        if run.stop_requested == "immediate":
            request = "immediate"  # an immediate request is never softened
        return self.update_run(run.id, PipelineRunUpdate(stop_requested=request))

    def get_runner_logs(self, run_id: str) -> str:
        """What the runner process of a run a server launched printed (empty for runs
        that did not go through a server's queue)."""
        return ""

    # -- step runs ----------------------------------------------------------------------
    @abstractmethod
    def create_step_run(self, request: StepRunRequest) -> str:
        """Record a step run (running, cached, skipped or stopped); returns its id."""

    @abstractmethod
    def create_step_runs(self, requests: Sequence[StepRunRequest]) -> None:
        """Record several step runs in one transaction (all or none)."""

    @abstractmethod
    def update_step_run(self, step_run_id: str, update: StepRunUpdate) -> None:
        """Change a step run's status, end time or error."""

    @abstractmethod
    def complete_step_run(
        self,
        step_run_id: str,
        update: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        """In one transaction: record the step runs in ``create`` (pending records, which
        may include this step's own start), create the output artifact versions, link
        them (and to ``model_version_id`` when given), set the status and merge the
        update's ``run_metadata``.

        Returns the ids of the created versions by output name.
        """

    def apply_step_records(self, records: Sequence[StepRecord]) -> None:
        """Apply step records (creations, updates, completions) in order: what a remote
        run's batch carries. Stores that can, do it in one transaction (all or none)."""
        from headrace.store.step_records import apply_one_by_one

        apply_one_by_one(self, records)

    @abstractmethod
    def get_step_run(self, step_run_id: str) -> StepRunResponse:
        """One step run with its inputs and outputs."""

    @abstractmethod
    def list_step_runs(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        """Every step run of a pipeline run, by invocation id, in the order they started."""

    def get_step_run_overview(
        self, pipeline_run_id: str, *, edge: int = 10, max_unsuccessful: int = 50
    ) -> StepRunOverview:
        """Counts by status, the first and last ``edge`` step runs (they overlap when
        the run has fewer than twice as many) and the first ``max_unsuccessful`` that did
        not succeed, in the order they started. Stores that can, answer it without
        reading every step run of a long run; this default reads them all."""
        steps = list(self.list_step_runs(pipeline_run_id).values())
        return StepRunOverview.of_steps(steps, edge=edge, max_unsuccessful=max_unsuccessful)

    @abstractmethod
    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        """Like ``find_cached_step_run``, but only what reusing the outputs needs (one
        query, no response models): the per-step path of a cached rerun."""

    @abstractmethod
    def find_cached_step_run(
        self, cache_key: str, created_after: datetime | None = None
    ) -> StepRunResponse | None:
        """The newest successful step run with this cache key, if any."""

    # -- artifacts ----------------------------------------------------------------------
    @abstractmethod
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        """A named artifact by name or id."""

    @abstractmethod
    def create_artifact_version(self, request: ArtifactVersionRequest) -> ArtifactVersionResponse:
        """Record an artifact version saved outside a step (``save_artifact``)."""

    @abstractmethod
    def get_artifact_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        """An artifact version by id, or by artifact name and version (latest if omitted)."""

    @abstractmethod
    def get_artifact_versions(self, ids: Sequence[str]) -> dict[str, ArtifactVersionResponse]:
        """Several artifact versions by exact id, in one call (ids not found are left out):
        what a run's outputs and a step's inputs read at once."""

    @abstractmethod
    def list_artifact_versions(
        self, filter_model: ArtifactVersionFilter
    ) -> Page[ArtifactVersionResponse]:
        """Artifact versions matching the filter."""

    # -- secrets ------------------------------------------------------------------------
    @abstractmethod
    def create_secret(self, name: str, values: dict[str, str]) -> SecretResponse:
        """Store a new secret (encrypted); its name must be unique."""

    @abstractmethod
    def get_secret(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        """A secret, with its decrypted values only when ``with_values`` is true."""

    @abstractmethod
    def list_secrets(self) -> list[SecretResponse]:
        """All secrets, by name, without values."""

    @abstractmethod
    def update_secret(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        """Add or change keys of a secret (``replace``: drop the keys not given)."""

    @abstractmethod
    def delete_secret(self, name_or_id: str) -> None:
        """Remove a secret."""

    # -- models -------------------------------------------------------------------------
    @abstractmethod
    def resolve_model_version(self, request: ModelVersionRequest) -> ModelVersionResponse:
        """The model version a run works on, creating the model and version as needed
        (see ``ModelVersionRequest.version``), and linking the request's run to it.

        Raises:
            EntityNotFoundError: a version number or stage was asked for that no
                version has (nothing is created then).
        """

    @abstractmethod
    def get_model(self, name_or_id: str) -> ModelResponse:
        """A model by name or id."""

    @abstractmethod
    def list_models(self, filter_model: ModelFilter) -> Page[ModelResponse]:
        """Models matching the filter."""

    @abstractmethod
    def get_model_version(
        self, model_name_or_id: str, version: str | int | None = None
    ) -> ModelVersionResponse:
        """A model version by id, or by model and version name, number or stage (the
        latest when ``version`` is omitted)."""

    @abstractmethod
    def list_model_versions(self, filter_model: ModelVersionFilter) -> Page[ModelVersionResponse]:
        """Model versions matching the filter."""

    @abstractmethod
    def update_model_version(
        self, model_version_id: str, update: ModelVersionUpdate
    ) -> ModelVersionResponse:
        """Change a version's stage, name or description.

        Raises:
            StoreError: the stage is held by another version and ``force`` is not set
                (with ``force`` that version is archived), or the change is invalid.
        """

    @abstractmethod
    def link_model_version(
        self,
        model_version_id: str,
        *,
        pipeline_run_ids: Sequence[str] = (),
        artifact_version_ids: Sequence[str] = (),
    ) -> None:
        """Link runs and artifact versions to a model version (links are kept once)."""

    # -- tags ---------------------------------------------------------------------------
    @abstractmethod
    def add_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        """Attach tags to one pipeline, run, artifact (version) or model (version).

        Raises:
            EntityNotFoundError: no resource of that type has the id.
        """

    @abstractmethod
    def remove_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        """Detach tags from one resource; tags it does not carry are ignored."""

    @abstractmethod
    def list_tags(self) -> list[TagResponse]:
        """Every tag, by name, with the number of resources carrying it."""

    # -- metadata -----------------------------------------------------------------------
    @abstractmethod
    def add_run_metadata(
        self,
        resource_type: MetadataResourceType,
        resource_id: str,
        metadata: Mapping[str, Any],
    ) -> None:
        """Merge metadata into a run, step run, artifact version or model version.

        Raises:
            EntityNotFoundError: no resource of that type has the id.
        """

    # -- accounts -----------------------------------------------------------------------
    @abstractmethod
    def create_user(self, request: UserRequest) -> UserResponse:
        """Create a user; the store keeps only a hash of the password."""

    @abstractmethod
    def get_user(self, name_or_id: str) -> UserResponse:
        """A user by name or id."""

    @abstractmethod
    def list_users(self, filter_model: UserFilter) -> Page[UserResponse]:
        """Users matching the filter."""

    @abstractmethod
    def update_user(self, name_or_id: str, update: UserUpdate) -> UserResponse:
        """Change a user's role, password or active flag.

        Raises:
            StoreConflictError: the change would leave no active admin.
        """

    @abstractmethod
    def create_service_account(self, request: ServiceAccountRequest) -> ServiceAccountResponse:
        """Create a service account (an identity for a program; it logs in with API keys)."""

    @abstractmethod
    def get_service_account(self, name_or_id: str) -> ServiceAccountResponse:
        """A service account by name or id."""

    @abstractmethod
    def list_service_accounts(
        self, filter_model: ServiceAccountFilter
    ) -> Page[ServiceAccountResponse]:
        """Service accounts matching the filter."""

    @abstractmethod
    def update_service_account(
        self, name_or_id: str, update: ServiceAccountUpdate
    ) -> ServiceAccountResponse:
        """Change a service account's role, description or active flag."""

    @abstractmethod
    def create_api_key(self, service_account: str, request: APIKeyRequest) -> APIKeyResponse:
        """Create an API key for a service account (by name or id).

        The response's ``key`` holds the key itself: the only time it is available.
        """

    @abstractmethod
    def get_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        """One API key of a service account, by key name or id (never with its key)."""

    @abstractmethod
    def list_api_keys(
        self, service_account: str, filter_model: APIKeyFilter
    ) -> Page[APIKeyResponse]:
        """API keys of a service account matching the filter."""

    @abstractmethod
    def revoke_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        """Revoke an API key: it and every token made from it stop working at once."""

    @abstractmethod
    def update_snapshot(self, name_or_id: str, update: SnapshotUpdate) -> SnapshotResponse:
        """Change who may run a snapshot on a server.

        Raises:
            EntityNotFoundError: a named user or service account does not exist.
        """

    def current_principal(self) -> Principal | None:
        """Who this store acts as on a server; ``None`` for a local store, which has no
        logins (whoever can open the database file may do anything)."""
        return None

    # -- lifecycle ----------------------------------------------------------------------
    @contextmanager
    def write_behind(self) -> Iterator[None]:
        """While the block runs, ``complete_step_run`` may return before its records are
        committed: the store commits them in groups, soon (about 20 ms), and before any
        other call of this process reads or writes through it (read-your-writes). A
        failed deferred commit is raised as ``StoreError`` by a later call (at the latest
        ``flush`` or the block's end), never dropped. Leaving the block commits what is
        left. Run drivers open it while steps run in their own process.

        This default writes synchronously (nothing is deferred).
        """
        yield

    def flush(self) -> None:  # noqa: B027 - optional hook, synchronous stores defer nothing
        """Commit every write this process deferred: a SQL store's group commit
        (``write_behind``), a remote store's queued step records. A no-op for stores that
        write at once.

        Raises:
            StoreError: a deferred write could not be committed (a remote store raises
                the error class the server answered).
        """

    def after_fork(self) -> None:  # noqa: B027 - optional hook
        """Called in a forked child: drop connections inherited from the parent."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections; the store must not be used afterwards."""


class DeploymentStore(ABC):
    """The records of deployments (snapshots served over HTTP).

    Kept apart from ``Store``: deployments are managed where the deployer runs, next to
    the database (the SQL store); a client of a server manages none.
    """

    @abstractmethod
    def create_deployment(self, request: DeploymentRequest) -> DeploymentResponse:
        """Record a new deployment.

        Raises:
            EntityExistsError: the name is taken.
        """

    @abstractmethod
    def get_deployment(self, name_or_id: str) -> DeploymentResponse:
        """A deployment by name, id or unique id prefix.

        Raises:
            EntityNotFoundError: no such deployment.
        """

    @abstractmethod
    def list_deployments(self, filter_model: DeploymentFilter) -> Page[DeploymentResponse]:
        """A page of deployments."""

    @abstractmethod
    def update_deployment(self, name_or_id: str, update: DeploymentUpdate) -> DeploymentResponse:
        """Apply the fields ``update`` sets; returns the deployment."""

    @abstractmethod
    def delete_deployment(self, name_or_id: str) -> None:
        """Remove a deployment's record.

        Raises:
            EntityNotFoundError: no such deployment.
        """


class RunQueueStore(ABC):
    """The server's run queue, kept in the database so that it survives restarts and
    several servers share it (the SQL store implements it).

    Every method is one transaction. On PostgreSQL the ones that count rows (enqueue,
    claim) hold a transaction-scoped advisory lock, so the limits hold across servers;
    claims take rows with ``FOR UPDATE SKIP LOCKED``. On SQLite every write transaction
    holds the database's write lock already.
    """

    @abstractmethod
    def enqueue_run(
        self,
        request: PipelineRunRequest,
        *,
        source: str,
        schedule_id: str | None,
        max_queued: int,
    ) -> PipelineRunResponse:
        """Record the run (status ``queued``) at the end of the queue.

        Raises:
            QueueFullError: ``max_queued`` runs wait already; nothing was recorded.
            EntityExistsError: the run's name is taken.
        """

    @abstractmethod
    def claim_queued_runs(self, claimer: str, max_in_flight: int) -> list[QueueEntry]:
        """Take the oldest waiting runs out of the queue, as many as keep the runs in
        flight (claimed, not released, on every server) at ``max_in_flight`` at most; the
        runs become ``initializing`` with a fresh heartbeat."""

    @abstractmethod
    def record_launch(self, run_id: str, handle: str) -> None:
        """The workload manager launched the run's runner; ``handle`` finds it again."""

    @abstractmethod
    def in_flight_runs(self) -> list[QueueEntry]:
        """Runs claimed and not released yet, by any server, oldest first."""

    @abstractmethod
    def release_run(self, run_id: str, runner_logs: str | None) -> None:
        """Free the slot of a run that ended, keeping its runner's output (and dropping
        the chunks of it kept while it ran)."""

    @abstractmethod
    def append_runner_output(self, run_id: str, start_byte: int, content: str) -> None:
        """Keep a chunk of a running run's runner output, starting at byte ``start_byte``
        of it (a chunk already kept at that offset is left as it is), so that every
        server can serve the output while the run runs; release deletes the chunks."""

    @abstractmethod
    def live_runner_output(self, run_id: str) -> str:
        """The chunks kept so far of a running run's output, in order (empty if none)."""

    @abstractmethod
    def queue_counts(self) -> tuple[int, int]:
        """How many runs wait, and how many are in flight."""

    @abstractmethod
    def get_queue_entry(self, run_id: str) -> QueueEntry | None:
        """The queue row of a run, if a server started it."""

    @abstractmethod
    def end_run_if_unended(self, run_id: str, status: ExecutionStatus, reason: str) -> bool:
        """End a run and its unended steps with ``status`` unless it ended already
        (whoever records an end first wins); whether this call ended it."""


class LoginWindow(NamedTuple):
    """The attempts counted for one login subject (a user name or an address) in its
    current window, and when that window started."""

    attempts: int
    window_start: datetime


class CredentialStore(ABC):
    """Checks credentials against the accounts a store keeps: what a server needs to
    log people and programs in and to check each request's token.

    Kept apart from ``Store`` because only a store that holds the password and key
    hashes can answer (the SQL store); a client talking to a server never checks
    credentials itself.
    """

    @abstractmethod
    def authenticate_user(self, name: str, password: str) -> Principal:
        """The principal of an active user whose password matches.

        Raises:
            AuthenticationError: unknown name, wrong password (the same message for
                both) or a deactivated user.
        """

    @abstractmethod
    def authenticate_api_key(self, key: str) -> Principal:
        """The principal of the active service account an API key belongs to; records
        the key's use.

        Raises:
            AuthenticationError: the key is malformed, unknown, revoked or expired, or
                its service account is deactivated.
        """

    @abstractmethod
    def get_principal(
        self, kind: AccountKind, account_id: str, api_key_id: str | None = None
    ) -> Principal:
        """The principal a token names, as it stands now (one indexed read), for the
        check on every request.

        Raises:
            AuthenticationError: the account is gone or deactivated, or the API key the
                token came from is revoked or expired.
        """

    # Login attempts live in the store so that every server on one database counts
    # them together and a restart keeps them (the login limiter, ``server/auth``).
    @abstractmethod
    def count_login_attempts(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        """Count one attempt for each subject, atomically (concurrent counts are never
        lost), in its window; a window older than ``window_seconds`` starts over at
        ``at``. Returns each subject's count and window after this attempt."""

    @abstractmethod
    def uncount_login_attempts(
        self, reset: Sequence[str] = (), take_back: Sequence[str] = ()
    ) -> None:
        """Set the ``reset`` subjects' counts to zero and take one attempt back from the
        ``take_back`` subjects (an attempt that turned out not to be a failure)."""

    @abstractmethod
    def login_windows(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        """The subjects' counts in windows not yet over at ``at`` (subjects without one
        are left out); a read, nothing counted."""

    @abstractmethod
    def prune_login_attempts(self, before: datetime) -> int:
        """Delete the counts whose window started before ``before``; how many."""


class SchedulerStore(ABC):
    """What a server's scheduler needs from the store it fires schedules from.

    Kept apart from ``Store`` (like ``CredentialStore``): only the store that holds the
    database (the SQL store) can claim a fire time atomically; a client never fires.
    """

    @abstractmethod
    def due_schedules(self, moment: datetime, limit: int = 100) -> list[ScheduleResponse]:
        """Active schedules whose next fire time is at or before ``moment``."""

    @abstractmethod
    def claim_schedule_fire(
        self, schedule_id: str, fire_time: datetime, next_run_time: datetime | None
    ) -> bool:
        """Move a schedule's next fire time from ``fire_time`` to ``next_run_time``
        (compare-and-set); ``True`` for the one caller that changed it."""
