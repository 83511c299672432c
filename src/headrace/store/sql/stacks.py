"""The stack and stack component verbs of ``SqlStore``.

``StackMethods`` is a mixin of ``SqlStore``, like ``RegistryMethods``: it relies on the
store's transaction helpers (``_write``, ``_read``), row lookup (``_find``), paging
(``_page``) and response context, declared below for the type checker.

Components are rows of ``stack_components`` (unique name per type); a stack is a row of
``stacks`` plus one ``stack_composition`` row per component type. Configurations are
checked against their flavor here, so every way into the store (Client, CLI, a server)
refuses the same bad input. The active stack is the ``active_stack_id`` store setting;
without it, the stack named ``default``, made on first use like a fresh repository's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from headrace.enums import StackComponentType
from headrace.exceptions import (
    EntityExistsError,
    EntityNotFoundError,
    StackComponentError,
    StoreConflictError,
    StoreError,
)
from headrace.models import (
    Page,
    ResponseContext,
    StackComponentFilter,
    StackComponentRequest,
    StackComponentResponse,
    StackComponentUpdate,
    StackFilter,
    StackRequest,
    StackResponse,
    StackUpdate,
)
from headrace.stacks.flavors import get_flavor, validate_configuration
from headrace.store.sql.database import Connection, Record, in_list
from headrace.store.sql.query import Query, insert_sql, select_all, update_sql
from headrace.store.sql.tagging import insert_ignoring_duplicates

DEFAULT_STACK_NAME = "default"
DEFAULT_COMPONENT_NAME = "default"
ACTIVE_STACK_SETTING = "active_stack_id"

_COMPOSITION = (
    "SELECT stack_composition.stack_id, stack_components.* FROM stack_composition "
    "JOIN stack_components ON stack_components.id = stack_composition.component_id "
    "WHERE stack_composition.stack_id IN {ids}"
)
_USED_BY = (
    "SELECT stacks.name FROM stack_composition "
    "JOIN stacks ON stacks.id = stack_composition.stack_id "
    "WHERE stack_composition.component_id = :id ORDER BY stacks.name"
)
_SETTING = "SELECT value FROM store_settings WHERE name = :name"
# Every write to stacks or components sets a new token; a store keeps the stacks it read
# while the token is unchanged, so a run reads one row instead of a stack's rows.
STACKS_TOKEN_SETTING = "stacks_version"
_STATE = (
    "SELECT name, value FROM store_settings "
    f"WHERE name IN ('{ACTIVE_STACK_SETTING}', '{STACKS_TOKEN_SETTING}')"
)
_UPSERT_SETTING = (
    "INSERT INTO store_settings (name, value) VALUES (:name, :value) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _checked_configuration(
    type: StackComponentType, flavor_name: str, name: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The configuration as stored: validated by the flavor, only the keys given."""
    flavor = get_flavor(type, flavor_name)
    subject = f"{type.label} {name!r} ({flavor_name})"
    config = validate_configuration(flavor, dict(values), subject=subject)
    return config.model_dump(mode="json", exclude_unset=True)


class StackMethods:
    """Stacks, stack components and the active stack over SQL."""

    # Provided by SqlStore.
    _context: ResponseContext
    _write: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]
    _find: Callable[..., Record]
    _page: Callable[..., Page[Any]]
    _default_artifact_path: str | None
    _stacks_token: str | None = None
    _stacks_cache: dict[str, StackResponse] | None = None

    @contextmanager
    def _stack_write(self) -> Iterator[Connection]:
        """A write transaction that also invalidates every store's cached stacks."""
        with self._write() as conn:
            yield conn
            conn.run(_UPSERT_SETTING, {"name": STACKS_TOKEN_SETTING, "value": uuid.uuid4().hex})

    def _cached_stack(self, token: str | None, key: str) -> StackResponse | None:
        if token is None or token != self._stacks_token or self._stacks_cache is None:
            return None
        return self._stacks_cache.get(key)

    def _remember(self, token: str | None, key: str, stack: StackResponse) -> StackResponse:
        if token is None:
            return stack
        if token != self._stacks_token or self._stacks_cache is None:
            self._stacks_cache, self._stacks_token = {}, token
        self._stacks_cache[key] = self._stacks_cache[stack.id] = stack
        return stack

    # -- components ---------------------------------------------------------------------
    def _component_model(self, row: Record) -> StackComponentResponse:
        return StackComponentResponse(
            id=row.id,
            created=row.created,
            name=row.name,
            type=row.type,
            flavor=row.flavor,
            configuration=row.configuration or {},
        ).attach(self._context)

    def _find_component(
        self, conn: Connection, name_or_id: str, type: StackComponentType | None
    ) -> Record:
        key = str(name_or_id).strip()
        if type is None:
            rows = conn.execute(f"{select_all('stack_components')} WHERE name = :key", {"key": key})
            if len(rows) > 1:
                types = ", ".join(sorted(StackComponentType(r.type).label for r in rows))
                raise EntityNotFoundError(
                    f"The name {key!r} is used by components of several types ({types}); "
                    "say which type you mean."
                )
            if rows:
                return rows[0]
            return self._find(conn, "stack_components", key, "stack component", by_name=False)
        row = conn.first(
            f"{select_all('stack_components')} WHERE type = :type AND name = :key",
            {"type": type.value, "key": key},
        )
        if row is None:
            row = self._find(conn, "stack_components", key, type.label, by_name=False)
            if row.type != type.value:
                raise EntityNotFoundError(f"No {type.label} has the name or id {key!r}.")
        return row

    def create_stack_component(self, request: StackComponentRequest) -> StackComponentResponse:
        configuration = _checked_configuration(
            request.type, request.flavor, request.name, request.configuration
        )
        now = _now()
        component_id = str(uuid.uuid4())
        values = {
            "id": component_id,
            "name": request.name,
            "type": request.type.value,
            "flavor": request.flavor,
            "configuration": configuration,
            "created": now,
            "updated": now,
        }
        try:
            with self._stack_write() as conn:
                conn.run(insert_sql("stack_components", tuple(values)), values)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A {request.type.label} named {request.name!r} exists already."
            ) from None
        return self.get_stack_component(component_id)

    def get_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> StackComponentResponse:
        with self._read() as conn:
            return self._component_model(self._find_component(conn, name_or_id, type))

    def list_stack_components(
        self, filter_model: StackComponentFilter
    ) -> Page[StackComponentResponse]:
        self._ensure_default_stack()
        query = Query(select_all("stack_components"), "stack_components")
        if filter_model.type is not None:
            query.equal("stack_components.type", filter_model.type.value)
        if filter_model.flavor is not None:
            query.equal("stack_components.flavor", filter_model.flavor)
        with self._read() as conn:
            return self._page(conn, query, filter_model, self._component_model)

    def update_stack_component(
        self,
        name_or_id: str,
        update: StackComponentUpdate,
        type: StackComponentType | None = None,
    ) -> StackComponentResponse:
        with self._read() as conn:
            row = self._find_component(conn, name_or_id, type)
        component_type = StackComponentType(row.type)
        values: dict[str, Any] = {"updated": _now()}
        if update.name is not None:
            values["name"] = update.name
        if update.configuration is not None:
            values["configuration"] = _checked_configuration(
                component_type, row.flavor, update.name or row.name, update.configuration
            )
        try:
            with self._stack_write() as conn:
                conn.run(update_sql("stack_components", tuple(values)), {**values, "_id": row.id})
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(
                f"A {component_type.label} named {update.name!r} exists already."
            ) from None
        return self.get_stack_component(row.id)

    def delete_stack_component(
        self, name_or_id: str, type: StackComponentType | None = None
    ) -> None:
        with self._stack_write() as conn:
            row = self._find_component(conn, name_or_id, type)
            users = [r.name for r in conn.execute(_USED_BY, {"id": row.id})]
            if users:
                label = StackComponentType(row.type).label
                raise StackComponentError(
                    f"The {label} {row.name!r} is used by stack(s) {', '.join(users)}; "
                    "give those stacks another one or delete them first."
                )
            conn.run("DELETE FROM stack_components WHERE id = :id", {"id": row.id})

    # -- stacks -------------------------------------------------------------------------
    def _stack_models(self, conn: Connection, rows: Sequence[Record]) -> list[StackResponse]:
        if not rows:
            return []
        params: dict[str, Any] = {}
        sql = _COMPOSITION.format(ids=in_list("s", [row.id for row in rows], params))
        parts: dict[str, dict[StackComponentType, StackComponentResponse]] = {}
        for part in conn.execute(sql, params):
            component = self._component_model(part)
            parts.setdefault(part.stack_id, {})[component.type] = component
        return [
            StackResponse(
                id=row.id, created=row.created, name=row.name, components=parts.get(row.id, {})
            ).attach(self._context)
            for row in rows
        ]

    def _composition(
        self, conn: Connection, components: Mapping[StackComponentType, str | None]
    ) -> dict[StackComponentType, str]:
        """Component ids by type, each checked to exist and to be of its type."""
        found: dict[StackComponentType, str] = {}
        for type, name_or_id in components.items():
            if name_or_id is not None:
                found[type] = self._find_component(conn, name_or_id, type).id
        missing = [t.label for t in StackComponentType if t.required and t not in found]
        if missing:
            raise StackComponentError(f"A stack needs a {' and an '.join(missing)}.")
        return found

    @staticmethod
    def _link(
        conn: Connection, stack_id: str, components: Mapping[StackComponentType, str]
    ) -> None:
        conn.run("DELETE FROM stack_composition WHERE stack_id = :id", {"id": stack_id})
        rows = [
            {"stack_id": stack_id, "component_type": t.value, "component_id": c}
            for t, c in components.items()
        ]
        conn.run_many(insert_sql("stack_composition", tuple(rows[0])), rows)

    def create_stack(self, request: StackRequest) -> StackResponse:
        stack_id = str(uuid.uuid4())
        values = {"id": stack_id, "name": request.name, "created": _now()}
        try:
            with self._stack_write() as conn:
                components = self._composition(conn, request.components)
                conn.run(insert_sql("stacks", tuple(values)), values)
                self._link(conn, stack_id, components)
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(f"A stack named {request.name!r} exists already.") from None
        return self.get_stack(stack_id)

    def get_stack(self, name_or_id: str) -> StackResponse:
        key = str(name_or_id).strip()
        self._ensure_default_named(key)
        with self._read() as conn:
            token = conn.scalar(_SETTING, {"name": STACKS_TOKEN_SETTING})
            found = self._cached_stack(token, key)
            if found is not None:
                return found
            row = self._find(conn, "stacks", key, "stack")
            return self._remember(token, key, self._stack_models(conn, [row])[0])

    def _ensure_default_named(self, name_or_id: str) -> None:
        """``default`` names the default stack even before anything made it."""
        if str(name_or_id).strip() == DEFAULT_STACK_NAME:
            self._ensure_default_stack()

    def list_stacks(self, filter_model: StackFilter) -> Page[StackResponse]:
        self._ensure_default_stack()
        query = Query(select_all("stacks"), "stacks")
        if filter_model.component_id is not None:
            query.add(
                "stacks.id IN (SELECT stack_id FROM stack_composition WHERE component_id = "
                f"{query.param(filter_model.component_id)})"
            )
        with self._read() as conn:
            page = self._page(conn, query, filter_model, lambda row: row)
            page.items = self._stack_models(conn, page.items)
        return page

    def update_stack(self, name_or_id: str, update: StackUpdate) -> StackResponse:
        self._ensure_default_named(name_or_id)
        try:
            with self._stack_write() as conn:
                row = self._find(conn, "stacks", name_or_id, "stack")
                if update.name is not None and update.name != row.name:
                    if row.name == DEFAULT_STACK_NAME:
                        raise StackComponentError("The stack 'default' cannot be renamed.")
                    conn.run(update_sql("stacks", ("name",)), {"name": update.name, "_id": row.id})
                if update.components:
                    current = self._stack_models(conn, [row])[0].components
                    merged: dict[StackComponentType, str | None] = {
                        t: c.id for t, c in current.items()
                    }
                    merged.update(update.components)
                    self._link(conn, row.id, self._composition(conn, merged))
        except StoreConflictError as exc:
            if not exc.unique:
                raise
            raise EntityExistsError(f"A stack named {update.name!r} exists already.") from None
        return self.get_stack(row.id)

    def delete_stack(self, name_or_id: str) -> None:
        self._ensure_default_named(name_or_id)
        with self._stack_write() as conn:
            row = self._find(conn, "stacks", name_or_id, "stack")
            if row.name == DEFAULT_STACK_NAME:
                raise StackComponentError("The stack 'default' cannot be deleted.")
            if conn.scalar(_SETTING, {"name": ACTIVE_STACK_SETTING}) == row.id:
                raise StackComponentError(
                    f"The stack {row.name!r} is the active stack; activate another one "
                    "first (headrace stack set default)."
                )
            uses = self._uses(conn, row.id)
            if uses:
                raise StackComponentError(
                    f"The stack {row.name!r} is recorded by {uses}, whose artifacts are read "
                    "through it; it cannot be deleted."
                )
            conn.run("DELETE FROM stacks WHERE id = :id", {"id": row.id})

    @staticmethod
    def _uses(conn: Connection, stack_id: str) -> str:
        counts = []
        for table, noun in (
            ("pipeline_runs", "run(s)"),
            ("snapshots", "snapshot(s)"),
        ):
            count = int(
                conn.scalar(f"SELECT count(*) FROM {table} WHERE stack_id = :id", {"id": stack_id})
            )
            if count:
                counts.append(f"{count} {noun}")
        artifacts = int(
            conn.scalar(
                "SELECT count(*) FROM artifact_versions WHERE artifact_store_id = :id",
                {"id": stack_id},
            )
        )
        if artifacts:
            counts.append(f"{artifacts} artifact version(s)")
        return " and ".join(counts)

    # -- the default and the active stack -----------------------------------------------
    def get_default_stack(self) -> StackResponse:
        with self._read() as conn:
            token = conn.scalar(_SETTING, {"name": STACKS_TOKEN_SETTING})
            found = self._cached_stack(token, DEFAULT_STACK_NAME)
            if found is not None:
                return found
            row = conn.first(
                f"{select_all('stacks')} WHERE name = :name", {"name": DEFAULT_STACK_NAME}
            )
            if row is not None:
                stack = self._stack_models(conn, [row])[0]
                return self._remember(token, DEFAULT_STACK_NAME, stack)
        return self._create_default_stack()

    def _ensure_default_stack(self) -> None:
        """Listings show the default stack even before a run made it (as in a fresh
        repository); a store without a default artifact path lists what it has."""
        if self._default_artifact_path:
            self.get_default_stack()

    def _create_default_stack(self) -> StackResponse:
        if not self._default_artifact_path:
            raise StoreError(
                "The store has no default stack and no artifact path to create one with."
            )
        now = _now()
        components = {
            StackComponentType.ORCHESTRATOR: ("local", {}),
            StackComponentType.ARTIFACT_STORE: ("local", {"path": self._default_artifact_path}),
        }
        # Another process may create the same rows at once: duplicates are skipped and
        # the rows that won are read back, all in one transaction.
        with self._stack_write() as conn:
            for type, (flavor, configuration) in components.items():
                row = {
                    "id": str(uuid.uuid4()),
                    "name": DEFAULT_COMPONENT_NAME,
                    "type": type.value,
                    "flavor": flavor,
                    "configuration": configuration,
                    "created": now,
                    "updated": now,
                }
                insert_ignoring_duplicates(conn, "stack_components", [row])
            stack = {"id": str(uuid.uuid4()), "name": DEFAULT_STACK_NAME, "created": now}
            insert_ignoring_duplicates(conn, "stacks", [stack])
            stack_id = conn.scalar(
                "SELECT id FROM stacks WHERE name = :name", {"name": DEFAULT_STACK_NAME}
            )
            links = [
                {
                    "stack_id": stack_id,
                    "component_type": type.value,
                    "component_id": self._find_component(conn, DEFAULT_COMPONENT_NAME, type).id,
                }
                for type in components
            ]
            insert_ignoring_duplicates(conn, "stack_composition", links)
        return self.get_default_stack()

    def get_active_stack(self) -> StackResponse:
        with self._read() as conn:
            state = {row.name: row.value for row in conn.execute(_STATE)}
        if STACKS_TOKEN_SETTING not in state:  # a store no stack change has touched yet
            with self._stack_write():
                pass
        active = state.get(ACTIVE_STACK_SETTING)
        found = self._cached_stack(state.get(STACKS_TOKEN_SETTING), active or DEFAULT_STACK_NAME)
        if found is not None:
            return found
        if active is not None:
            try:
                return self.get_stack(str(active))
            except EntityNotFoundError:
                pass  # deleted behind the store's back: fall back to the default
        return self.get_default_stack()

    def set_active_stack(self, name_or_id: str) -> StackResponse:
        stack = self.get_stack(name_or_id)
        with self._stack_write() as conn:
            conn.run(_UPSERT_SETTING, {"name": ACTIVE_STACK_SETTING, "value": stack.id})
        return stack
