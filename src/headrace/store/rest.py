"""``RestStore``: the Store interface over HTTP to ``headrace server``.

Chosen when ``HEADRACE_STORE_URL`` is ``http(s)://...``. ``HEADRACE_STORE_API_KEY`` is
sent as ``X-API-Key`` and ``HEADRACE_STORE_API_TOKEN`` as a bearer token. The server
answers errors with the name of the ``headrace.exceptions`` class, so a caller catches
the same exceptions as with a local store. One keep-alive connection pool per process
(a fresh one after a fork); each Store verb is one request, except the step records a
run writes (``create_step_runs``, ``update_step_run``, ``complete_step_run``): those are
queued and sent every few milliseconds in one batch (``headrace.store.rest_batch``), so
a remote run does not wait for a round trip per step. Every other request sends the
queue first, so a read sees this process's writes.
"""

from __future__ import annotations

import json as _json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, SecretStr, TypeAdapter

from headrace import exceptions
from headrace.enums import MetadataResourceType, StackComponentType, TaggableResourceType
from headrace.exceptions import StoreError
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
from headrace.models.base import ResponseModel
from headrace.models.filters import BaseFilter
from headrace.models.step_run import CacheHit, StepRunOverview
from headrace.store.base import Store
from headrace.store.http_session import HttpSession, Reply
from headrace.store.rest_batch import WriteBehind, write_behind_linger
from headrace.store.session import credential_headers

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

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_S = 30.0

R = TypeVar("R", bound=ResponseModel)


class RestStore(Store):
    """Metadata kept by a headrace server, reached over HTTP.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8237``.
        timeout: seconds to wait for one answer.
        api_key: an API key to send (``X-API-Key``), or
        token: a bearer token to send; without either, ``HEADRACE_STORE_API_KEY`` /
            ``HEADRACE_STORE_API_TOKEN``, else the ``headrace login`` session for ``url``.
    """

    # The server's scheduler fires the schedules stored through it.
    has_scheduler = True

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        api_key: str | None = None,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        if api_key:
            self._headers = {"X-API-Key": api_key}
        elif token:
            self._headers = {"Authorization": f"Bearer {token}"}
        else:
            self._headers = credential_headers(self.url)
        self._context = ResponseContext(self)
        self._lock = threading.Lock()
        self._http: HttpSession | None = None
        self._behind = WriteBehind(self._send_records, self.url, linger=write_behind_linger())
        # Cache keys of step runs this process started and has not ended (see find_cache_hit).
        self._started_keys: dict[str, str] = {}

    # -- plumbing -----------------------------------------------------------------------
    def _session(self) -> HttpSession:
        session = self._http
        if session is None:
            with self._lock:
                if self._http is None:
                    self._http = HttpSession(self.url + API_PREFIX, self._headers, self._timeout)
                session = self._http
        return session

    def close(self) -> None:
        """Send the queued step records, then close the connections."""
        try:
            self._behind.close()
        finally:
            if self._http is not None:
                self._http.close()
                self._http = None

    def after_fork(self) -> None:
        """Forget the parent's connections and queue; the child opens its own."""
        self._behind.forget()
        if self._http is not None:
            self._http.forget()

    def flush(self) -> None:
        """Send the queued step records and wait until the server applied them."""
        self._behind.flush()

    def apply_step_records(self, records: Sequence[StepRecord]) -> None:
        """Sent at once (after the queue), as one batch; the server's error is raised."""
        from headrace.store.rest_batch import batch_body

        # Each with its kind (a default, so not "set"), and otherwise only what was set.
        bodies = [_body(record.model_copy(update={"kind": record.kind})) for record in records]
        self._request("POST", "/steps/batch", content=batch_body(bodies))

    def _send_records(self, body: bytes) -> None:
        self._send("POST", "/steps/batch", content=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send one request, after the queued step records; returns the answer, raises
        the server's error (or that of a batch of step records that failed)."""
        self._behind.flush()
        return self._send(method, path, json=json, content=content, params=params)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        if json is not None:
            content = _json.dumps(json).encode()
        try:
            response = self._session().request(method, path, body=content, params=params)
        except OSError as exc:
            raise StoreError(
                f"Cannot reach the headrace server at {self.url} ({type(exc).__name__}: {exc}); "
                "is `headrace server start` running there?"
            ) from exc
        if response.status_code >= 400:
            raise _error_of(response, method, path)
        return response

    def _model(self, kind: type[R], method: str, path: str, **kwargs: Any) -> R:
        response = self._request(method, path, **kwargs)
        model = kind.model_validate_json(response.content)
        self._attach(model)
        return model

    def _page(self, kind: type[R], path: str, filter_model: BaseFilter) -> Page[R]:
        response = self._request("GET", path, params=_query(filter_model))
        page = _page_adapter(kind).validate_json(response.content)
        for item in page.items:
            self._attach(item)
        return page

    def _list(self, kind: type[R], path: str) -> list[R]:
        response = self._request("GET", path)
        items: list[R] = TypeAdapter(list[kind]).validate_json(response.content)  # type: ignore[valid-type]
        for item in items:
            self._attach(item)
        return items

    def _attach(self, value: Any) -> None:
        """Attach a response and the responses inside it (a step's input and output
        versions) to this store, so their links and ``.load()`` work."""
        if isinstance(value, ResponseModel):
            value.attach(self._context)
            for item in value.__dict__.values():
                if isinstance(item, ResponseModel | list | dict):
                    self._attach(item)
        elif isinstance(value, list):
            for item in value:
                self._attach(item)
        elif isinstance(value, dict):
            for item in value.values():
                self._attach(item)

    # -- stacks -------------------------------------------------------------------------
    def get_default_stack(self) -> StackResponse:
        return self._model(StackResponse, "GET", "/stacks/default")

    def get_active_stack(self) -> StackResponse:
        return self._model(StackResponse, "GET", "/stacks/active")

    def set_active_stack(self, name_or_id: str) -> StackResponse:
        return self._model(
            StackResponse, "PUT", "/stacks/active", json={"name_or_id": str(name_or_id)}
        )

    def create_stack(self, request: StackRequest) -> StackResponse:
        return self._model(StackResponse, "POST", "/stacks", content=_body(request))

    def get_stack(self, name_or_id: str) -> StackResponse:
        return self._model(StackResponse, "GET", f"/stacks/{_part(name_or_id)}")

    def list_stacks(self, filter_model: StackFilter) -> Page[StackResponse]:
        return self._page(StackResponse, "/stacks", filter_model)

    def update_stack(self, name_or_id: str, update: StackUpdate) -> StackResponse:
        return self._model(
            StackResponse, "PUT", f"/stacks/{_part(name_or_id)}", content=_body(update)
        )

    def delete_stack(self, name_or_id: str) -> None:
        self._request("DELETE", f"/stacks/{_part(name_or_id)}")

    def create_stack_component(self, request: StackComponentRequest) -> StackComponentResponse:
        return self._model(StackComponentResponse, "POST", "/components", content=_body(request))

    def get_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> StackComponentResponse:
        return self._model(
            StackComponentResponse,
            "GET",
            f"/components/{_part(name_or_id)}",
            params=_component_type(type),
        )

    def list_stack_components(
        self, filter_model: StackComponentFilter
    ) -> Page[StackComponentResponse]:
        return self._page(StackComponentResponse, "/components", filter_model)

    def update_stack_component(
        self,
        name_or_id: str,
        update: StackComponentUpdate,
        type: StackComponentType | None = None,
    ) -> StackComponentResponse:
        return self._model(
            StackComponentResponse,
            "PUT",
            f"/components/{_part(name_or_id)}",
            content=_body(update),
            params=_component_type(type),
        )

    def delete_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> None:
        self._request("DELETE", f"/components/{_part(name_or_id)}", params=_component_type(type))

    # -- pipelines ----------------------------------------------------------------------
    def get_or_create_pipeline(self, name: str, docstring: str | None = None) -> PipelineResponse:
        return self._model(
            PipelineResponse, "POST", "/pipelines", json={"name": name, "docstring": docstring}
        )

    def get_pipeline(self, name_or_id: str) -> PipelineResponse:
        return self._model(PipelineResponse, "GET", f"/pipelines/{_part(name_or_id)}")

    def list_pipelines(self, filter_model: PipelineFilter) -> Page[PipelineResponse]:
        return self._page(PipelineResponse, "/pipelines", filter_model)

    # -- snapshots ----------------------------------------------------------------------
    def create_snapshot(
        self, request: SnapshotRequest, *, replace: bool = False
    ) -> SnapshotResponse:
        return self._model(
            SnapshotResponse,
            "POST",
            "/pipeline_snapshots",
            content=_body(request),
            params={"replace": "true"} if replace else None,
        )

    def ensure_snapshot(self, request: SnapshotRequest) -> str:
        response = self._request("POST", "/pipeline_snapshots/ensure", content=_body(request))
        return str(response.json()["id"])

    def delete_snapshot(self, name_or_id: str) -> None:
        self._request("DELETE", f"/pipeline_snapshots/{_part(name_or_id)}")

    def get_snapshot(self, name_or_id: str) -> SnapshotResponse:
        return self._model(SnapshotResponse, "GET", f"/pipeline_snapshots/{_part(name_or_id)}")

    def list_snapshots(self, filter_model: SnapshotFilter) -> Page[SnapshotResponse]:
        return self._page(SnapshotResponse, "/pipeline_snapshots", filter_model)

    def start_snapshot_run(
        self,
        snapshot_id: str,
        run_configuration: PipelineRunConfiguration | dict[str, Any] | None,
        *,
        triggered_by_step_run_id: str | None = None,
    ) -> PipelineRunResponse | None:
        """The server validates the run and queues it; its runner starts when a slot is
        free (``run.wait()`` waits for the end)."""
        return self._model(
            PipelineRunResponse,
            "POST",
            f"/pipeline_snapshots/{_part(snapshot_id)}/runs",
            params={"source": "step" if triggered_by_step_run_id else "sdk"},
            json={
                "run_configuration": _configuration_json(run_configuration),
                "step_run": triggered_by_step_run_id,
            },
        )

    # -- schedules ----------------------------------------------------------------------
    def create_schedule(self, request: ScheduleRequest) -> ScheduleResponse:
        from headrace.models.schedule import ScheduleResponse

        return self._model(ScheduleResponse, "POST", "/schedules", content=_body(request))

    def get_schedule(self, name_or_id: str) -> ScheduleResponse:
        from headrace.models.schedule import ScheduleResponse

        return self._model(ScheduleResponse, "GET", f"/schedules/{_part(name_or_id)}")

    def list_schedules(self, filter_model: ScheduleFilter) -> Page[ScheduleResponse]:
        from headrace.models.schedule import ScheduleResponse

        return self._page(ScheduleResponse, "/schedules", filter_model)

    def update_schedule(self, name_or_id: str, update: ScheduleUpdate) -> ScheduleResponse:
        from headrace.models.schedule import ScheduleResponse

        path = f"/schedules/{_part(name_or_id)}"
        return self._model(ScheduleResponse, "PUT", path, content=_body(update))

    def delete_schedule(self, name_or_id: str) -> None:
        self._request("DELETE", f"/schedules/{_part(name_or_id)}")

    # -- runs ---------------------------------------------------------------------------
    def create_run(self, request: PipelineRunRequest) -> PipelineRunResponse:
        return self._model(PipelineRunResponse, "POST", "/runs", content=_body(request))

    def update_run(self, run_id: str, update: PipelineRunUpdate) -> PipelineRunResponse:
        return self._model(
            PipelineRunResponse, "PUT", f"/runs/{_part(run_id)}", content=_body(update)
        )

    def get_run(self, name_or_id: str) -> PipelineRunResponse:
        return self._model(
            PipelineRunResponse, "GET", f"/runs/{_part(name_or_id)}", params={"hydrate": "false"}
        )

    def list_runs(self, filter_model: PipelineRunFilter) -> Page[PipelineRunResponse]:
        return self._page(PipelineRunResponse, "/runs", filter_model)

    def get_stop_request(self, run_id: str) -> str | None:
        """Read without sending the queued step records first (they never change it)."""
        reply = self._send("GET", f"/runs/{_part(run_id)}", params={"hydrate": "false"})
        requested = _json.loads(reply.content).get("stop_requested")
        return None if requested is None else str(requested)

    def stop_run(self, run_id: str, *, graceful: bool = False) -> PipelineRunResponse:
        """The server stops it: a queued run at once, a running one through its driver."""
        return self._model(
            PipelineRunResponse,
            "POST",
            f"/runs/{_part(run_id)}/stop",
            json={"graceful": graceful},
        )

    def get_runner_logs(self, run_id: str) -> str:
        return self._request("GET", f"/runs/{_part(run_id)}/logs").text

    # -- step runs ----------------------------------------------------------------------
    def create_step_run(self, request: StepRunRequest) -> str:
        self.create_step_runs([request])
        return request.id

    def create_step_runs(self, requests: Sequence[StepRunRequest]) -> None:
        """Queued (see ``headrace.store.rest_batch``)."""
        if requests:
            from headrace.models.wire import StepRunsCreated

            record = StepRunsCreated(kind="create", step_runs=list(requests))
            self._behind.add(_body(record), self._cache_keys(requests))

    def update_step_run(self, step_run_id: str, update: StepRunUpdate) -> None:
        """Queued (see ``headrace.store.rest_batch``)."""
        from headrace.models.wire import StepRunUpdated

        record = StepRunUpdated(
            kind="update", step_run_id=step_run_id, update=update.for_the_wire()
        )
        if update.status is not None and update.status.is_finished:
            self._started_keys.pop(step_run_id, None)
        self._behind.add(_body(record))

    def complete_step_run(
        self,
        step_run_id: str,
        update: StepRunUpdate,
        outputs: dict[str, list[ArtifactVersionRequest]],
        create: Sequence[StepRunRequest] = (),
        model_version_id: str | None = None,
    ) -> dict[str, list[str]]:
        """Queued (see ``headrace.store.rest_batch``); the versions' ids are the
        requests' own, made by the caller."""
        from headrace.models.wire import StepRunCompleted

        record = StepRunCompleted(
            kind="complete",
            step_run_id=step_run_id,
            update=update.for_the_wire(),
            outputs={
                name: [request.for_the_wire() for request in requests]
                for name, requests in outputs.items()
            },
            create=list(create),
            model_version_id=model_version_id,
        )
        keys = self._cache_keys(create)
        own = self._started_keys.pop(step_run_id, None)
        self._behind.add(_body(record), keys if own is None else (*keys, own))
        return {name: [request.id for request in requests] for name, requests in outputs.items()}

    def _cache_keys(self, requests: Sequence[StepRunRequest]) -> tuple[str, ...]:
        """The cache keys of step runs being recorded; those that have not ended are
        remembered until their completion is queued."""
        keys = []
        for request in requests:
            if request.cache_key:
                keys.append(request.cache_key)
                if not request.status.is_finished:
                    self._started_keys[request.id] = request.cache_key
        return tuple(keys)

    def get_step_run(self, step_run_id: str) -> StepRunResponse:
        return self._model(StepRunResponse, "GET", f"/steps/{_part(step_run_id)}")

    def list_step_runs(self, pipeline_run_id: str) -> dict[str, StepRunResponse]:
        response = self._request("GET", f"/runs/{_part(pipeline_run_id)}/steps")
        steps = _STEPS.validate_json(response.content)
        for step in steps.values():
            self._attach(step)
        return steps

    def get_step_run_overview(
        self, pipeline_run_id: str, *, edge: int = 10, max_unsuccessful: int = 50
    ) -> StepRunOverview:
        response = self._request(
            "GET",
            f"/runs/{_part(pipeline_run_id)}/steps/overview",
            params={"edge": edge, "max_unsuccessful": max_unsuccessful},
        )
        overview = StepRunOverview.model_validate_json(response.content)
        self._attach([overview.first, overview.last, overview.unsuccessful])
        return overview

    def find_cache_hit(
        self, cache_key: str, created_after: datetime | None = None
    ) -> CacheHit | None:
        response = self._lookup("/steps/cache_hit", cache_key, created_after)
        return _CACHE_HIT.validate_json(response.content)

    def _lookup(self, path: str, cache_key: str, created_after: datetime | None) -> Reply:
        """A cache lookup, the per-step read of a cached run: it sends the queued step
        records first only when one of them is about a step run with this key (no other
        record can change its answer), so a cached run pays one round trip per step."""
        if self._behind.holds(cache_key):
            self._behind.flush()
        else:
            self._behind.raise_failure()
        return self._send("GET", path, params=_cache(cache_key, created_after))

    def find_cached_step_run(
        self, cache_key: str, created_after: datetime | None = None
    ) -> StepRunResponse | None:
        response = self._lookup("/steps/cached", cache_key, created_after)
        step = _CACHED_STEP.validate_json(response.content)
        if step is not None:
            self._attach(step)
        return step

    # -- artifacts ----------------------------------------------------------------------
    def get_artifact(self, name_or_id: str) -> ArtifactResponse:
        return self._model(ArtifactResponse, "GET", f"/artifacts/{_part(name_or_id)}")

    def create_artifact_version(self, request: ArtifactVersionRequest) -> ArtifactVersionResponse:
        return self._model(
            ArtifactVersionResponse,
            "POST",
            "/artifact_versions",
            content=_body(request.for_the_wire()),
        )

    def get_artifact_version(
        self, name_or_id: str, version: str | int | None = None
    ) -> ArtifactVersionResponse:
        return self._model(
            ArtifactVersionResponse,
            "GET",
            f"/artifact_versions/{_part(name_or_id)}",
            params={"version": str(version)} if version is not None else None,
        )

    def get_artifact_versions(self, ids: Sequence[str]) -> dict[str, ArtifactVersionResponse]:
        if not ids:
            return {}
        response = self._request("POST", "/artifact_versions/lookup", json={"ids": list(ids)})
        found = _VERSIONS.validate_json(response.content)
        for version in found.values():
            self._attach(version)
        return found

    def list_artifact_versions(
        self, filter_model: ArtifactVersionFilter
    ) -> Page[ArtifactVersionResponse]:
        return self._page(ArtifactVersionResponse, "/artifact_versions", filter_model)

    # -- secrets ------------------------------------------------------------------------
    def create_secret(self, name: str, values: dict[str, str]) -> SecretResponse:
        _check_secret_values(name, values)
        return self._model(
            SecretResponse, "POST", "/secrets", json={"name": name, "values": values}
        )

    def get_secret(self, name_or_id: str, *, with_values: bool = False) -> SecretResponse:
        suffix = "/values" if with_values else ""
        return self._model(SecretResponse, "GET", f"/secrets/{_part(name_or_id)}{suffix}")

    def list_secrets(self) -> list[SecretResponse]:
        return self._list(SecretResponse, "/secrets")

    def update_secret(
        self, name_or_id: str, values: dict[str, str], *, replace: bool = False
    ) -> SecretResponse:
        _check_secret_values(name_or_id, values, allow_empty=not replace)
        return self._model(
            SecretResponse,
            "PUT",
            f"/secrets/{_part(name_or_id)}",
            json={"values": values, "replace": replace},
        )

    def delete_secret(self, name_or_id: str) -> None:
        self._request("DELETE", f"/secrets/{_part(name_or_id)}")

    # -- models -------------------------------------------------------------------------
    def resolve_model_version(self, request: ModelVersionRequest) -> ModelVersionResponse:
        return self._model(
            ModelVersionResponse, "POST", "/model_versions/resolve", content=_body(request)
        )

    def get_model(self, name_or_id: str) -> ModelResponse:
        return self._model(ModelResponse, "GET", f"/models/{_part(name_or_id)}")

    def list_models(self, filter_model: ModelFilter) -> Page[ModelResponse]:
        return self._page(ModelResponse, "/models", filter_model)

    def get_model_version(
        self, model_name_or_id: str, version: str | int | None = None
    ) -> ModelVersionResponse:
        if version is None:
            path = f"/model_versions/{_part(model_name_or_id)}"
        else:
            path = f"/models/{_part(model_name_or_id)}/versions/{_part(str(version))}"
        return self._model(ModelVersionResponse, "GET", path)

    def list_model_versions(self, filter_model: ModelVersionFilter) -> Page[ModelVersionResponse]:
        return self._page(ModelVersionResponse, "/model_versions", filter_model)

    def update_model_version(
        self, model_version_id: str, update: ModelVersionUpdate
    ) -> ModelVersionResponse:
        return self._model(
            ModelVersionResponse,
            "PUT",
            f"/model_versions/{_part(model_version_id)}",
            content=_body(update),
        )

    def link_model_version(
        self,
        model_version_id: str,
        *,
        pipeline_run_ids: Sequence[str] = (),
        artifact_version_ids: Sequence[str] = (),
    ) -> None:
        self._request(
            "POST",
            f"/model_versions/{_part(model_version_id)}/links",
            json={
                "pipeline_run_ids": list(pipeline_run_ids),
                "artifact_version_ids": list(artifact_version_ids),
            },
        )

    # -- tags ---------------------------------------------------------------------------
    def add_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        self._tags("add", resource_type, resource_id, tags)

    def remove_tags(
        self, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        self._tags("remove", resource_type, resource_id, tags)

    def _tags(
        self, verb: str, resource_type: TaggableResourceType, resource_id: str, tags: Sequence[str]
    ) -> None:
        from headrace.models.tag import clean_tags

        names = clean_tags(tags)  # refused here as by the SQL store, before any request
        self._request(
            "POST",
            f"/tags/{verb}",
            json={"resource_type": resource_type.value, "resource_id": resource_id, "tags": names},
        )

    def list_tags(self) -> list[TagResponse]:
        return self._list(TagResponse, "/tags")

    # -- metadata -----------------------------------------------------------------------
    def add_run_metadata(
        self,
        resource_type: MetadataResourceType,
        resource_id: str,
        metadata: Mapping[str, Any],
    ) -> None:
        if not metadata:
            return
        from headrace.metadata.metadata_types import encode_metadata

        values, types = encode_metadata(metadata)
        self._request(
            "POST",
            "/run_metadata",
            json={
                "resource_type": resource_type.value,
                "resource_id": resource_id,
                "metadata": values,
                "metadata_types": types,
            },
        )

    # -- accounts -----------------------------------------------------------------------
    def current_principal(self) -> Principal | None:
        from headrace.models.account import Principal

        response = self._request("GET", "/current-user")
        return Principal.model_validate_json(response.content)

    def create_user(self, request: UserRequest) -> UserResponse:
        from headrace.models.account import UserResponse

        return self._model(UserResponse, "POST", "/users", content=_secret_body(request))

    def get_user(self, name_or_id: str) -> UserResponse:
        from headrace.models.account import UserResponse

        return self._model(UserResponse, "GET", f"/users/{_part(name_or_id)}")

    def list_users(self, filter_model: UserFilter) -> Page[UserResponse]:
        from headrace.models.account import UserResponse

        return self._page(UserResponse, "/users", filter_model)

    def update_user(self, name_or_id: str, update: UserUpdate) -> UserResponse:
        from headrace.models.account import UserResponse

        return self._model(
            UserResponse, "PUT", f"/users/{_part(name_or_id)}", content=_secret_body(update)
        )

    def create_service_account(self, request: ServiceAccountRequest) -> ServiceAccountResponse:
        from headrace.models.account import ServiceAccountResponse

        return self._model(
            ServiceAccountResponse, "POST", "/service_accounts", content=_body(request)
        )

    def get_service_account(self, name_or_id: str) -> ServiceAccountResponse:
        from headrace.models.account import ServiceAccountResponse

        return self._model(ServiceAccountResponse, "GET", f"/service_accounts/{_part(name_or_id)}")

    def list_service_accounts(
        self, filter_model: ServiceAccountFilter
    ) -> Page[ServiceAccountResponse]:
        from headrace.models.account import ServiceAccountResponse

        return self._page(ServiceAccountResponse, "/service_accounts", filter_model)

    def update_service_account(
        self, name_or_id: str, update: ServiceAccountUpdate
    ) -> ServiceAccountResponse:
        from headrace.models.account import ServiceAccountResponse

        return self._model(
            ServiceAccountResponse,
            "PUT",
            f"/service_accounts/{_part(name_or_id)}",
            content=_body(update),
        )

    def create_api_key(self, service_account: str, request: APIKeyRequest) -> APIKeyResponse:
        from headrace.models.account import APIKeyResponse

        path = f"/service_accounts/{_part(service_account)}/api_keys"
        return self._model(APIKeyResponse, "POST", path, content=_body(request))

    def get_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        from headrace.models.account import APIKeyResponse

        path = f"/service_accounts/{_part(service_account)}/api_keys/{_part(name_or_id)}"
        return self._model(APIKeyResponse, "GET", path)

    def list_api_keys(
        self, service_account: str, filter_model: APIKeyFilter
    ) -> Page[APIKeyResponse]:
        from headrace.models.account import APIKeyResponse

        path = f"/service_accounts/{_part(service_account)}/api_keys"
        return self._page(APIKeyResponse, path, filter_model)

    def revoke_api_key(self, service_account: str, name_or_id: str) -> APIKeyResponse:
        from headrace.models.account import APIKeyResponse

        path = f"/service_accounts/{_part(service_account)}/api_keys/{_part(name_or_id)}/revoke"
        return self._model(APIKeyResponse, "POST", path)

    def update_snapshot(self, name_or_id: str, update: SnapshotUpdate) -> SnapshotResponse:
        path = f"/pipeline_snapshots/{_part(name_or_id)}/access"
        return self._model(SnapshotResponse, "PUT", path, content=_body(update))


_STEPS: TypeAdapter[dict[str, StepRunResponse]] = TypeAdapter(dict[str, StepRunResponse])
_VERSIONS: TypeAdapter[dict[str, ArtifactVersionResponse]] = TypeAdapter(
    dict[str, ArtifactVersionResponse]
)
_CACHE_HIT: TypeAdapter[CacheHit | None] = TypeAdapter(CacheHit | None)
_CACHED_STEP: TypeAdapter[StepRunResponse | None] = TypeAdapter(StepRunResponse | None)
_PAGE_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _page_adapter(kind: type[R]) -> TypeAdapter[Page[R]]:
    adapter = _PAGE_ADAPTERS.get(kind)
    if adapter is None:
        adapter = _PAGE_ADAPTERS[kind] = TypeAdapter(Page[kind])  # type: ignore[valid-type]
    return adapter


def _component_type(type: StackComponentType | None) -> dict[str, str] | None:
    return {"type": StackComponentType(type).value} if type is not None else None


def _part(value: str) -> str:
    """One path segment, quoted (a name may hold characters a URL gives meaning to)."""
    return quote(str(value), safe="")


def _secret_body(model: BaseModel) -> bytes:
    """Like :func:`_body`, with ``SecretStr`` fields (passwords) in clear: the server
    must receive them to hash them."""
    data = model.model_dump(mode="json", exclude_unset=True)
    for field in data:
        value = getattr(model, field)
        if isinstance(value, SecretStr):
            data[field] = value.get_secret_value()
    return _json.dumps(data).encode()


def _body(model: BaseModel) -> bytes:
    # Only what was set: an update applies the fields its sender gave, nothing more.
    return model.model_dump_json(exclude_unset=True).encode()


def _query(filter_model: BaseFilter) -> dict[str, str]:
    """The query string of a filter: the fields that were set, as the server reads them."""
    values = filter_model.model_dump(mode="json", exclude_defaults=True)
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in values.items()
        if value is not None
    }


def _cache(cache_key: str, created_after: datetime | None) -> dict[str, str]:
    params = {"cache_key": cache_key}
    if created_after is not None:
        params["created_after"] = created_after.isoformat()
    return params


def _configuration_json(
    run_configuration: PipelineRunConfiguration | dict[str, Any] | None,
) -> dict[str, Any]:
    """A run configuration as the JSON a server takes (only what was set)."""
    from headrace.config.pipeline_run_configuration import PipelineRunConfiguration

    if run_configuration is None:
        return {}
    if isinstance(run_configuration, PipelineRunConfiguration):
        return run_configuration.set_fields_json()
    from headrace.dsl.compiler import to_json_value

    value = to_json_value(dict(run_configuration), what="The run configuration")
    return dict(value)


def _check_secret_values(name: str, values: dict[str, str], *, allow_empty: bool = False) -> None:
    if not values and not allow_empty:
        raise StoreError(f"Secret {name!r} needs at least one key=value pair.")


def _error_of(response: Any, method: str, path: str) -> Exception:
    """The exception the server's error answer stands for."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.text or f"HTTP {response.status_code}")
    name = str(body.get("error", ""))
    kind = getattr(exceptions, name, None)
    if name == "RunConfigurationError" and isinstance(body.get("problems"), list):
        return exceptions.RunConfigurationError([str(p) for p in body["problems"]])
    if name == "TooManyAttemptsError":
        headers = getattr(response, "headers", None) or {}
        retry = float(headers.get("Retry-After", "60"))
        return exceptions.TooManyAttemptsError(detail, retry_after=retry)
    if name == "StoreConflictError":
        return exceptions.StoreConflictError(detail, unique=bool(body.get("unique")))
    if isinstance(kind, type) and issubclass(kind, exceptions.HeadraceError):
        try:
            return kind(detail)
        except TypeError:
            pass
    if response.status_code == 404:
        return exceptions.EntityNotFoundError(detail)
    if response.status_code in (401, 403):
        return StoreError(f"The server at {response.url} refused {method} {path}: {detail}")
    if response.status_code == 422:
        return exceptions.ConfigurationError(detail)
    return StoreError(f"The server answered {response.status_code} to {method} {path}: {detail}")
