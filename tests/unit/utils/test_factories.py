"""Default factories give every model instance its own empty containers."""

from __future__ import annotations

from headrace.config.spec import StepSpec
from headrace.config.step_configurations import StepConfiguration
from headrace.utils.factories import new_dict, new_list


def test_factories_make_new_empty_containers() -> None:
    assert new_dict() == {} and new_dict() is not new_dict()
    assert new_list() == [] and new_list() is not new_list()


def test_model_defaults_are_not_shared() -> None:
    first, second = StepConfiguration(), StepConfiguration()
    first.parameters["x"] = 1
    first.secrets.append("s")
    assert second.parameters == {} and second.secrets == []


def test_spec_default_config_is_the_empty_configuration() -> None:
    spec = StepSpec(invocation_id="a", step_name="a", source="m.a", code_hash="h")
    assert spec.config == StepConfiguration()
    assert spec.config.model_fields_set == set()
