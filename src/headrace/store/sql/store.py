"""``SqlStore``: the Store interface over SQL (SQLite by default, PostgreSQL on a server).

Statements are plain SQL run through ``database.py``: no SQLAlchemy on the path of a
run (it stays for the Alembic migrations). Each aggregate has its repository in
``repositories/`` (generic lookup, paging and filters in ``repositories/base.py``); this
class opens the database, wires the repositories together and delegates the verbs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from headrace.enums import AccountKind, MetadataResourceType, TaggableResourceType
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionRequest,
    ArtifactVersionResponse,
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
    ResponseContext,
    SecretResponse,
    SnapshotFilter,
    SnapshotRequest,
    SnapshotResponse,
    SnapshotUpdate,
    StepRunRequest,
    StepRunResponse,
    StepRunUpdate,
    TagResponse,
)

if TYPE_CHECKING:
    from headrace.models import (
        DeploymentFilter,
        DeploymentRequest,
        DeploymentResponse,
        DeploymentUpdate,
        ScheduleFilter,
    )
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
    from headrace.store.sql.repositories.accounts import (
        APIKeyRepository,
        ServiceAccountRepository,
        UserRepository,
    )
    from headrace.store.sql.repositories.deployments import DeploymentRepository
    from headrace.store.sql.repositories.login_attempts import LoginAttemptRepository
    from headrace.store.sql.repositories.schedules import ScheduleRepository

from headrace.exceptions import StoreError
from headrace.models.filters import BaseFilter
from headrace.models.step_run import CacheHit, StepRunOverview
from headrace.store.base import (
    CredentialStore,
    DeploymentStore,
    LoginWindow,
    SchedulerStore,
    Store,
)
from headrace.store.sql.database import Connection, Record, open_database, sqlite_path
from headrace.store.sql.migrate import ensure_schema
from headrace.store.sql.query import Query
from headrace.store.sql.queue_methods import RunQueueMethods
from headrace.store.sql.repositories.artifacts import ArtifactRepository
from headrace.store.sql.repositories.base import SqlContext, find_row, page_of
from headrace.store.sql.repositories.models import ModelRepository
from headrace.store.sql.repositories.pipelines import PipelineRepository
from headrace.store.sql.repositories.run_queue import RunQueueRepository
from headrace.store.sql.repositories.runs import RunRepository
from headrace.store.sql.repositories.secrets import SecretRepository
from headrace.store.sql.repositories.snapshots import SnapshotRepository
from headrace.store.sql.repositories.step_runs import StepRunRepository
from headrace.store.sql.repositories.tags import TagRepository
from headrace.store.sql.stacks import StackMethods
from headrace.utils.env import ENV_STORE_WRITE_BEHIND_MS
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()


class SqlStore(
    StackMethods, RunQueueMethods, Store, CredentialStore, SchedulerStore, DeploymentStore
):
    """Metadata in a SQL database: SQLite (standard library driver) or PostgreSQL (psycopg).

    Args:
        url: ``sqlite:///path.db`` or ``postgresql://user@host/db`` (SQLAlchemy's
            ``postgresql+psycopg://`` spelling works too).
        default_artifact_path: root of the default stack's artifact store, used when the
            default stack is created.
    """

    def __init__(self, url: str, *, default_artifact_path: str | None = None) -> None:
        from pathlib import Path

        from headrace.store.sql.secrets import KEY_FILE, SecretCipher

        self.url = url
        self._db = open_database(url)
        self._sqlite = self._db.dialect == "sqlite"
        ensure_schema(self._db)
        self._context = ResponseContext(self)
        self._default_artifact_path = default_artifact_path
        database = sqlite_path(url) if self._sqlite else None
        key_directory = (
            Path(database).resolve().parent
            if database
            else Path(default_artifact_path or ".").resolve().parent
        )
        sql = self._sql = SqlContext(self._db, self._context)
        self.pipelines = PipelineRepository(sql)
        self.snapshots = SnapshotRepository(sql)
        self.runs = RunRepository(sql)
        self.run_queue = RunQueueRepository(sql, self.runs)
        self.artifacts = ArtifactRepository(sql)
        self.step_runs = StepRunRepository(sql, self.artifacts)
        self.secrets = SecretRepository(sql, SecretCipher(key_directory))
        self.models = ModelRepository(sql)
        self.tags = TagRepository(sql)
        self._key_file = str(key_directory / KEY_FILE)
        self._database_file = str(Path(database).resolve()) if database else None

    @cached_property
    def deployments(self) -> DeploymentRepository:
        """The deployments' repository (imported on first use: runs never need it)."""
        from headrace.store.sql.repositories.deployments import DeploymentRepository

        return DeploymentRepository(self._sql)

    def create_deployment(self, request: DeploymentRequest) -> DeploymentResponse:
        return self.deployments.create(request)

    def get_deployment(self, name_or_id: str) -> DeploymentResponse:
        return self.deployments.get(name_or_id)

    def list_deployments(self, filter_model: DeploymentFilter) -> Page[DeploymentResponse]:
        return self.deployments.list(filter_model)

    def update_deployment(self, name_or_id: str, update: DeploymentUpdate) -> DeploymentResponse:
        return self.deployments.update(name_or_id, update)

    def delete_deployment(self, name_or_id: str) -> None:
        self.deployments.delete(name_or_id)

    def local_files(self) -> list[str]:
        """Files of this store that must never be archived or served (the database with
        its journals, the secrets key)."""
        files = [self._key_file]
        if self._database_file:
            suffixes = ("", "-wal", "-shm", "-journal", ".migrate.lock")
            files += [self._database_file + suffix for suffix in suffixes]
        return files

    # -- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; SQLite takes the write lock up front."""
        with self._db.write() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._db.read() as conn:
            yield conn

    def close(self) -> None:
        """Commit deferred writes, then close the idle connections."""
        behind = self._db.write_behind
        if behind is not None and behind.pending and behind.owned_here:
            try:
                behind.flush()
            except StoreError as exc:  # closing goes on; the records are reported lost
                logger.error("Step records could not be committed before closing: %s", exc)
        self._db.close()

    @contextmanager
    def write_behind(self) -> Iterator[None]:
        """Commit step completions in groups while the block runs (``write_behind.py``);
        ``HEADRACE_STORE_WRITE_BEHIND_MS=0`` keeps every write synchronous."""
        delay_ms = float(os.environ.get(ENV_STORE_WRITE_BEHIND_MS, "20") or 0)
        if delay_ms <= 0:
            yield
            return
        from headrace.store.sql.write_behind import WriteBehind

        behind = self._db.write_behind
        if behind is None:
            behind = WriteBehind(self._db, self.step_runs, delay_ms / 1000)
            self._db.write_behind = behind
        behind.open()
        try:
            yield
        except BaseException:
            try:
                behind.close()
            except StoreError as exc:  # the block's own error is the one to raise
                logger.error("Deferred step records could not be committed: %s", exc)
            raise
        behind.close()

    def flush(self) -> None:
        """Commit the step records this process deferred."""
        behind = self._db.write_behind
        if behind is not None and behind.pending:
            behind.flush()

    def after_fork(self) -> None:
        """Open fresh connections without touching the parent's."""
        self._db.after_fork()

    def _find(
        self, conn: Connection, table: str, name_or_id: str, kind: str, *, by_name: bool = True
    ) -> Record:
        """Row lookup for the stack verbs (``stacks.py``): the repositories' one."""
        return find_row(conn, table, name_or_id, kind, by_name=by_name)

    def _page(
        self,
        conn: Connection,
        query: Query,
        filter_model: BaseFilter,
        to_model: Callable[[Record], Any],
    ) -> Page[Any]:
        """Paging for the stack verbs (``stacks.py``): the repositories' one."""
        return page_of(conn, query, filter_model, to_model)

    # -- pipelines ----------------------------------------------------------------------
    def get_or_create_pipeline(self, name: str, docstring: str | None = None) -> PipelineResponse:
        return self.pipelines.get_or_create(name, docstring)

    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        return self.pipelines.get(name_or_id)

    def list_pipelines(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        return self.pipelines.list(filter_model)

    # -- snapshots ----------------------------------------------------------------------
    def create_snapshot(
        self, request: SnapshotRequest, *, replace: bool = False
    ) -> SnapshotResponse:
        return self.snapshots.create(request, replace=replace)

    def ensure_snapshot(self, request: SnapshotRequest) -> str:
        return self.snapshots.ensure(request)

    def delete_snapshot(self, name_or_id: str) -> None:
        self.snapshots.delete(name_or_id)

    def get_snapshot(self, name_or_id: str) -> SnapshotResponse:
        return self.snapshots.get(name_or_id)

    def list_snapshots(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        return self.snapshots.list(filter_model)

    # -- schedules ----------------------------------------------------------------------
    # Made on first use, like the accounts: a pipeline run never reads schedules.
    @cached_property
    def schedules(self) -> ScheduleRepository:
        """The schedules' repository."""
        from headrace.store.sql.repositories.schedules import ScheduleRepository

        return ScheduleRepository(self._sql)

    def create_schedule(self, request: ScheduleRequest) -> ScheduleResponse:
        return self.schedules.create(request)

    def get_schedule(self, name_or_id: str) -> ScheduleResponse:
        return self.schedules.get(name_or_id)

    def list_schedules(self, filter_model: ScheduleFilter) -> Page[ScheduleResponse]:
        return self.schedules.list(filter_model)

    def update_schedule(self, name_or_id: str, update: ScheduleUpdate) -> ScheduleResponse:
        return self.schedules.update(name_or_id, update)

    def delete_schedule(self, name_or_id: str) -> None:
        self.schedules.delete(name_or_id)

    def due_schedules(self, moment: datetime, limit: int = 100) -> list[ScheduleResponse]:
        return self.schedules.due(moment, limit)

    def claim_schedule_fire(
        self, schedule_id: str, fire_time: datetime, next_run_time: datetime | None
    ) -> bool:
        return self.schedules.claim(schedule_id, fire_time, next_run_time)

    # -- runs ---------------------------------------------------------------------------
    def create_run(self, request: PipelineRunRequest) -> PipelineRunResponse:
        return self.runs.create(request)

    def update_run(self, run_id: str, update: PipelineRunUpdate) -> PipelineRunResponse:
        return self.runs.update(run_id, update)

    def get_run(self, name_or_id: str) -> PipelineRunResponse:
        return self.runs.get(name_or_id)

    def get_stop_request(self, run_id: str) -> str | None:
        return self.runs.stop_request(run_id)

    def list_runs(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        return self.runs.list(filter_model)

    # -- step runs ----------------------------------------------------------------------
    def create_step_run(self, request: StepRunRequest) -> str:
        self.step_runs.create_many([request])
        return request.id

    def create_step_runs(self, requests: Sequence[StepRunRequest]) -> None:
        self.step_runs.create_many(requests)

    def update_step_run(self, step_run_id: str, update: StepRunUpdate) -> None:
        self.step_runs.update(step_run_id, update)

    def complete_step_run(
        self,
        step_run_id: str,
        update: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        behind = self._db.write_behind
        if behind is not None and behind.active:
            return self.step_runs.complete_later(
                behind, step_run_id, update, outputs, create, model_version_id
            )
        return self.step_runs.complete(step_run_id, update, outputs, create, model_version_id)

    def apply_step_records(self, records: Sequence[StepRecord]) -> None:
        self.step_runs.apply(records)

    def get_step_run(self, step_run_id: str) -> StepRunResponse:
        return self.step_runs.get(step_run_id)

    def list_step_runs(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        return self.step_runs.of_run(pipeline_run_id)

    def get_step_run_overview(
        self, pipeline_run_id: str, *, edge: int = 10, max_unsuccessful: int = 50
    ) -> StepRunOverview:
        return self.step_runs.overview(
            pipeline_run_id, edge=edge, max_unsuccessful=max_unsuccessful
        )

    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        return self.step_runs.find_cache_hit(cache_key, created_after)

    def find_cached_step_run(
        self, cache_key: str, created_after: datetime | None = None
    ) -> StepRunResponse | None:
        return self.step_runs.find_cached(cache_key, created_after)

    # -- artifacts ----------------------------------------------------------------------
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        return self.artifacts.get_artifact(name_or_id)

    def create_artifact_version(self, request: ArtifactVersionRequest) -> ArtifactVersionResponse:
        return self.artifacts.create_version(request)

    def get_artifact_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        return self.artifacts.get_version(name_or_id, version)

    def get_artifact_versions(self, ids: Sequence[str]) -> dict[str, ArtifactVersionResponse]:
        return self.artifacts.get_versions(ids)

    def list_artifact_versions(
        self, filter_model: ArtifactVersionFilter
    ) -> Page[ArtifactVersionResponse]:
        return self.artifacts.list_versions(filter_model)

    # -- secrets ------------------------------------------------------------------------
    def create_secret(self, name: str, values: dict[str, str]) -> SecretResponse:
        return self.secrets.create(name, values)

    def get_secret(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        return self.secrets.get(name_or_id, with_values=with_values)

    def list_secrets(self) -> list[SecretResponse]:
        return self.secrets.list()

    def update_secret(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        return self.secrets.update(name_or_id, values, replace=replace)

    def delete_secret(self, name_or_id: str) -> None:
        self.secrets.delete(name_or_id)

    # -- models -------------------------------------------------------------------------
    def resolve_model_version(self, request: ModelVersionRequest) -> ModelVersionResponse:
        return self.models.resolve_model_version(request)

    def get_model(self, name_or_id: str) -> ModelResponse:
        return self.models.get_model(name_or_id)

    def list_models(self, filter_model: ModelFilter) -> Page[ModelResponse]:
        return self.models.list_models(filter_model)

    def get_model_version(
        self, model_name_or_id: str, version: str | int | None = None
    ) -> ModelVersionResponse:
        return self.models.get_model_version(model_name_or_id, version)

    def list_model_versions(self, filter_model: ModelVersionFilter) -> Page[ModelVersionResponse]:
        return self.models.list_model_versions(filter_model)

    def update_model_version(
        self, model_version_id: str, update: ModelVersionUpdate
    ) -> ModelVersionResponse:
        return self.models.update_model_version(model_version_id, update)

    def link_model_version(
        self,
        model_version_id: str,
        *,
        pipeline_run_ids: Sequence[str] = (),
        artifact_version_ids: Sequence[str] = (),
    ) -> None:
        self.models.link_model_version(
            model_version_id,
            pipeline_run_ids=pipeline_run_ids,
            artifact_version_ids=artifact_version_ids,
        )

    # -- tags and metadata --------------------------------------------------------------
    def add_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        self.tags.add_tags(resource_type, resource_id, tags)

    def remove_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        self.tags.remove_tags(resource_type, resource_id, tags)

    def list_tags(self) -> list[TagResponse]:
        return self.tags.list_tags()

    def add_run_metadata(
        self,
        resource_type: MetadataResourceType,
        resource_id: str,
        metadata: Mapping[str, Any],
    ) -> None:
        self.tags.add_run_metadata(resource_type, resource_id, metadata)

    # -- accounts -----------------------------------------------------------------------
    # Made on first use: a pipeline run never touches accounts, and their models cost
    # milliseconds to define.
    @cached_property
    def users(self) -> UserRepository:
        """The users' repository."""
        from headrace.store.sql.repositories.accounts import UserRepository

        return UserRepository(self._sql)

    @cached_property
    def service_accounts(self) -> ServiceAccountRepository:
        """The service accounts' repository."""
        from headrace.store.sql.repositories.accounts import ServiceAccountRepository

        return ServiceAccountRepository(self._sql)

    @cached_property
    def api_keys(self) -> APIKeyRepository:
        """The API keys' repository."""
        from headrace.store.sql.repositories.accounts import APIKeyRepository

        return APIKeyRepository(self._sql, self.service_accounts)

    def create_user(self, request: UserRequest) -> UserResponse:
        return self.users.create(request)

    def get_user(self, name_or_id: str) -> UserResponse:
        return self.users.get(name_or_id)

    def list_users(self, filter_model: UserFilter) -> Page[UserResponse]:
        return self.users.list(filter_model)

    def update_user(self, name_or_id: str, update: UserUpdate) -> UserResponse:
        return self.users.update(name_or_id, update)

    def create_service_account(self, request: ServiceAccountRequest) -> ServiceAccountResponse:
        return self.service_accounts.create(request)

    def get_service_account(self, name_or_id: str) -> ServiceAccountResponse:
        return self.service_accounts.get(name_or_id)

    def list_service_accounts(
        self, filter_model: ServiceAccountFilter
    ) -> Page[ServiceAccountResponse]:
        return self.service_accounts.list(filter_model)

    def update_service_account(
        self, name_or_id: str, update: ServiceAccountUpdate
    ) -> ServiceAccountResponse:
        return self.service_accounts.update(name_or_id, update)

    def create_api_key(self, service_account: str, request: APIKeyRequest) -> APIKeyResponse:
        return self.api_keys.create(service_account, request)

    def get_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        return self.api_keys.get(service_account, name_or_id)

    def list_api_keys(
        self, service_account: str, filter_model: APIKeyFilter
    ) -> Page[APIKeyResponse]:
        return self.api_keys.list(service_account, filter_model)

    def revoke_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        return self.api_keys.revoke(service_account, name_or_id)

    def update_snapshot(self, name_or_id: str, update: SnapshotUpdate) -> SnapshotResponse:
        return self.snapshots.update(name_or_id, update)

    # -- credentials (CredentialStore) --------------------------------------------------
    def authenticate_user(self, name: str, password: str) -> Principal:
        return self.users.authenticate(name, password)

    def authenticate_api_key(self, key: str) -> Principal:
        return self.api_keys.authenticate(key)

    def get_principal(
        self, kind: AccountKind, account_id: str, api_key_id: str | None = None
    ) -> Principal:
        if kind == AccountKind.USER:
            return self.users.principal(account_id)
        return self.api_keys.principal(account_id, api_key_id)

    @cached_property
    def login_attempts(self) -> LoginAttemptRepository:
        """The login attempts' counts (only a server's login reads them)."""
        from headrace.store.sql.repositories.login_attempts import LoginAttemptRepository

        return LoginAttemptRepository(self._sql)

    def count_login_attempts(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        return self.login_attempts.count(subjects, at, window_seconds)

    def uncount_login_attempts(
        self, reset: Sequence[str] = (), take_back: Sequence[str] = ()
    ) -> None:
        self.login_attempts.uncount(reset, take_back)

    def login_windows(
        self, subjects: Sequence[str], at: datetime, window_seconds: float
    ) -> dict[str, LoginWindow]:
        return self.login_attempts.windows(subjects, at, window_seconds)

    def prune_login_attempts(self, before: datetime) -> int:
        return self.login_attempts.prune(before)
