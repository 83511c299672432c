"""The Store contract for stacks and stack components, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from headrace.enums import StackComponentType
from headrace.exceptions import EntityExistsError, EntityNotFoundError, StackComponentError
from headrace.models import (
    PipelineRunRequest,
    StackComponentFilter,
    StackComponentRequest,
    StackComponentUpdate,
    StackFilter,
    StackRequest,
    StackUpdate,
)
from headrace.store.base import Store

ORCHESTRATOR = StackComponentType.ORCHESTRATOR
ARTIFACT_STORE = StackComponentType.ARTIFACT_STORE
ALERTER = StackComponentType.ALERTER


def _component(
    store: Store, name: str, type: StackComponentType, flavor: str, **configuration: object
) -> str:
    request = StackComponentRequest(
        name=name, type=type, flavor=flavor, configuration=dict(configuration)
    )
    return store.create_stack_component(request).id


def _stack(store: Store, name: str, tmp_path: Path, *, alerter: bool = False) -> str:
    components = {
        ORCHESTRATOR: _component(store, f"{name}-o", ORCHESTRATOR, "local", max_parallelism=2),
        ARTIFACT_STORE: _component(
            store, f"{name}-a", ARTIFACT_STORE, "local", path=str(tmp_path / name)
        ),
    }
    if alerter:
        components[ALERTER] = _component(
            store, f"{name}-al", ALERTER, "webhook", url="http://127.0.0.1:9/hook"
        )
    return store.create_stack(StackRequest(name=name, components=components)).id


def test_a_fresh_store_has_the_default_stack_of_default_components(
    sql_store: Store, tmp_path: Path
) -> None:
    stack = sql_store.get_active_stack()
    assert stack.name == "default"
    assert stack.orchestrator.name == "default" and stack.orchestrator.flavor == "local"
    assert stack.artifact_store.name == "default"
    assert stack.artifact_store_path == str(tmp_path / "artifacts")
    assert stack.alerter is None
    assert sql_store.get_default_stack().id == stack.id
    names = {(c.type, c.name) for c in sql_store.list_stack_components(StackComponentFilter())}
    assert names == {(ORCHESTRATOR, "default"), (ARTIFACT_STORE, "default")}


def test_components_are_created_read_listed_updated_and_deleted(sql_store: Store) -> None:
    component_id = _component(sql_store, "fast", ORCHESTRATOR, "local", max_parallelism=8)
    found = sql_store.get_stack_component("fast", ORCHESTRATOR)
    assert found.id == component_id
    assert found.configuration == {"max_parallelism": 8}
    assert sql_store.get_stack_component(component_id[:8]).name == "fast"
    only_ray = sql_store.list_stack_components(StackComponentFilter(flavor="ray"))
    assert only_ray.total == 0
    orchestrators = sql_store.list_stack_components(StackComponentFilter(type=ORCHESTRATOR))
    assert [c.name for c in orchestrators] == ["default", "fast"]

    updated = sql_store.update_stack_component(
        "fast",
        StackComponentUpdate(name="faster", configuration={"processes": True}),
        ORCHESTRATOR,
    )
    assert updated.name == "faster"
    assert updated.configuration == {"processes": True}
    sql_store.delete_stack_component("faster", ORCHESTRATOR)
    with pytest.raises(EntityNotFoundError, match="No orchestrator has the name or id 'faster'"):
        sql_store.get_stack_component("faster", ORCHESTRATOR)


def test_component_names_are_unique_per_type(sql_store: Store) -> None:
    _component(sql_store, "shared", ORCHESTRATOR, "local")
    with pytest.raises(EntityExistsError, match="orchestrator named 'shared' exists"):
        _component(sql_store, "shared", ORCHESTRATOR, "ray")
    _component(sql_store, "shared", ALERTER, "webhook", url="http://127.0.0.1:9/x")
    with pytest.raises(EntityNotFoundError, match="several types"):
        sql_store.get_stack_component("shared")
    assert sql_store.get_stack_component("shared", ALERTER).flavor == "webhook"


def test_a_configuration_is_checked_by_its_flavor(sql_store: Store) -> None:
    with pytest.raises(StackComponentError, match="'max_paralelism'.*'max_parallelism'"):
        _component(sql_store, "typo", ORCHESTRATOR, "local", max_paralelism=2)
    with pytest.raises(StackComponentError, match="allowed flavors: local, ray"):
        _component(sql_store, "k8s", ORCHESTRATOR, "kubernetes")
    with pytest.raises(StackComponentError, match="'path' is required"):
        _component(sql_store, "nowhere", ARTIFACT_STORE, "local")
    _component(sql_store, "ok", ORCHESTRATOR, "local")
    with pytest.raises(StackComponentError, match="'processes'"):
        sql_store.update_stack_component(
            "ok", StackComponentUpdate(configuration={"proceses": True}), ORCHESTRATOR
        )


def test_stacks_are_created_listed_updated_and_activated(sql_store: Store, tmp_path: Path) -> None:
    stack_id = _stack(sql_store, "second", tmp_path, alerter=True)
    stack = sql_store.get_stack("second")
    assert stack.id == stack_id
    assert stack.orchestrator.name == "second-o"
    assert stack.orchestrator.configuration == {"max_parallelism": 2}
    assert stack.alerter is not None and stack.alerter.flavor == "webhook"
    assert stack.artifact_store_path == str(tmp_path / "second")
    assert [s.name for s in sql_store.list_stacks(StackFilter())] == ["default", "second"]
    users = sql_store.list_stacks(StackFilter(component_id=stack.orchestrator.id))
    assert [s.name for s in users] == ["second"]

    with pytest.raises(EntityExistsError, match="stack named 'second'"):
        sql_store.create_stack(
            StackRequest(name="second", components={k: c.id for k, c in stack.components.items()})
        )

    default_orchestrator = sql_store.get_stack_component("default", ORCHESTRATOR).id
    changed = sql_store.update_stack(
        "second",
        StackUpdate(name="renamed", components={ORCHESTRATOR: default_orchestrator, ALERTER: None}),
    )
    assert changed.name == "renamed"
    assert changed.orchestrator.name == "default"
    assert changed.alerter is None
    assert changed.artifact_store.name == "second-a"

    assert sql_store.set_active_stack("renamed").id == stack_id
    assert sql_store.get_active_stack().id == stack_id


def test_a_stack_needs_an_orchestrator_and_an_artifact_store(sql_store: Store) -> None:
    orchestrator = _component(sql_store, "o", ORCHESTRATOR, "local")
    with pytest.raises(StackComponentError, match="needs a artifact store|needs an? artifact"):
        sql_store.create_stack(StackRequest(name="half", components={ORCHESTRATOR: orchestrator}))
    with pytest.raises(EntityNotFoundError, match="No artifact store has the name or id 'gone'"):
        sql_store.create_stack(
            StackRequest(
                name="half", components={ORCHESTRATOR: orchestrator, ARTIFACT_STORE: "gone"}
            )
        )
    with pytest.raises(StackComponentError, match="needs"):
        sql_store.update_stack("default", StackUpdate(components={ORCHESTRATOR: None}))
    assert sql_store.list_stacks(StackFilter(name="half")).total == 0


def test_what_is_in_use_cannot_be_deleted(sql_store: Store, tmp_path: Path) -> None:
    _stack(sql_store, "second", tmp_path)
    with pytest.raises(StackComponentError, match="'second-o' is used by stack\\(s\\) second"):
        sql_store.delete_stack_component("second-o", ORCHESTRATOR)
    with pytest.raises(StackComponentError, match="'default' cannot be deleted"):
        sql_store.delete_stack("default")
    with pytest.raises(StackComponentError, match="cannot be renamed"):
        sql_store.update_stack("default", StackUpdate(name="other"))

    sql_store.set_active_stack("second")
    with pytest.raises(StackComponentError, match="'second' is the active stack"):
        sql_store.delete_stack("second")
    sql_store.set_active_stack("default")

    sql_store.delete_stack("second")
    sql_store.delete_stack_component("second-o", ORCHESTRATOR)
    with pytest.raises(EntityNotFoundError):
        sql_store.get_stack("second")
    with pytest.raises(EntityNotFoundError):
        sql_store.delete_stack("second")


def test_a_stack_runs_were_recorded_on_is_kept(sql_store: Store, tmp_path: Path) -> None:
    stack_id = _stack(sql_store, "used", tmp_path)
    sql_store.create_run(
        PipelineRunRequest(
            id=str(uuid.uuid4()), name="r", pipeline_id=None, snapshot_id=None, stack_id=stack_id
        )
    )
    with pytest.raises(StackComponentError, match="'used' is recorded by 1 run\\(s\\)"):
        sql_store.delete_stack("used")


def test_a_change_made_through_another_store_is_seen_at_once(
    sql_store: Store, tmp_path: Path
) -> None:
    from headrace.store.sql.store import SqlStore

    stack_id = _stack(sql_store, "second", tmp_path)
    assert sql_store.get_active_stack().name == "default"  # read, and kept
    assert sql_store.get_stack(stack_id).orchestrator.configuration == {"max_parallelism": 2}
    other = SqlStore(sql_store.url)  # another process, in effect
    try:
        other.set_active_stack("second")
        assert sql_store.get_active_stack().id == stack_id
        other.update_stack_component(
            "second-o", StackComponentUpdate(configuration={"processes": True}), ORCHESTRATOR
        )
        assert sql_store.get_stack(stack_id).orchestrator.configuration == {"processes": True}
        assert sql_store.get_active_stack().orchestrator.configuration == {"processes": True}
    finally:
        other.close()
