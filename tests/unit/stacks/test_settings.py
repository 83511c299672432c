"""Orchestrator settings applied over the stack's orchestrator configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headrace.enums import StackComponentType
from headrace.exceptions import ConfigurationError, StackComponentError
from headrace.models import StackComponentResponse, StackResponse
from headrace.stacks.settings import check_component_settings, orchestrator_configuration


def _stack(flavor: str = "local", name: str = "fast", **configuration: Any) -> StackResponse:
    now = datetime.now(UTC)
    orchestrator = StackComponentResponse(
        id="o",
        created=now,
        name=name,
        type=StackComponentType.ORCHESTRATOR,
        flavor=flavor,
        configuration=configuration,
    )
    return StackResponse(
        id="s", created=now, name="s", components={StackComponentType.ORCHESTRATOR: orchestrator}
    )


def test_the_component_configuration_is_the_base() -> None:
    config = orchestrator_configuration(_stack(max_parallelism=3), {})
    assert config.max_parallelism == 3  # type: ignore[attr-defined]
    assert config.processes is False  # type: ignore[attr-defined]


def test_generic_then_flavor_then_component_name_settings_win() -> None:
    settings = {
        "orchestrator": {"max_parallelism": 4, "processes": True},
        "orchestrator.local": {"max_parallelism": 5},
        "orchestrator.fast": {"synchronous": False},
    }
    config = orchestrator_configuration(_stack(max_parallelism=3), settings)
    assert config.model_dump() == {"max_parallelism": 5, "processes": True, "synchronous": False}
    step = {"orchestrator.local": {"max_parallelism": 1}}
    assert orchestrator_configuration(_stack(), settings, step).max_parallelism == 1  # type: ignore[attr-defined]


def test_settings_for_another_flavor_are_ignored() -> None:
    settings = {"orchestrator.ray": {"address": "ray://far:10001", "namespace": "x"}}
    config = orchestrator_configuration(_stack(), settings)
    assert config.model_dump() == {"max_parallelism": None, "processes": False, "synchronous": None}
    ray = orchestrator_configuration(_stack("ray", "cluster"), settings)
    assert ray.address == "ray://far:10001"  # type: ignore[attr-defined]


def test_an_unknown_key_is_refused_naming_the_settings_entry() -> None:
    with pytest.raises(StackComponentError) as caught:
        orchestrator_configuration(_stack(), {"orchestrator.local": {"max_paralelism": 2}})
    message = str(caught.value)
    assert "pipeline settings['orchestrator.local']" in message
    assert "'max_paralelism'" in message and "'max_parallelism'" in message
    with pytest.raises(
        StackComponentError, match="'address' in pipeline settings\\['orchestrator'\\]"
    ):
        orchestrator_configuration(_stack(), {"orchestrator": {"address": "auto"}})
    with pytest.raises(StackComponentError, match="step settings\\['orchestrator.fast'\\]"):
        orchestrator_configuration(_stack(), {}, {"orchestrator.fast": {"nope": 1}})
    with pytest.raises(StackComponentError, match="key 'max_parallelism'"):
        orchestrator_configuration(_stack(), {"orchestrator": {"max_parallelism": "many"}})


def test_settings_are_checked_before_any_stack_is_known() -> None:
    check_component_settings("orchestrator", {"address": "auto"}, owner="pipeline 'p'")
    check_component_settings("orchestrator.my-cluster", {"anything": 1}, owner="pipeline 'p'")
    check_component_settings("alerter", {"anything": 1}, owner="pipeline 'p'")
    with pytest.raises(
        StackComponentError, match="pipeline 'p': settings\\['orchestrator.local'\\]"
    ):
        check_component_settings("orchestrator.local", {"address": "x"}, owner="pipeline 'p'")
    with pytest.raises(StackComponentError, match="'max_paralelism'.*'max_parallelism'"):
        check_component_settings("orchestrator", {"max_paralelism": 1}, owner="pipeline 'p'")


def test_a_pipeline_with_a_misspelled_orchestrator_setting_is_refused_when_defined() -> None:
    from headrace import pipeline, step

    @step
    def one() -> int:
        return 1

    with pytest.raises(ConfigurationError, match="'procceses'.*'processes'"):

        @pipeline(settings={"orchestrator.local": {"procceses": True}})
        def broken() -> None:
            one()
