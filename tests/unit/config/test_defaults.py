"""Default configurations made without validation behave like validated ones, and a plain
pipeline call never builds the run configuration's schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from headrace.config.base import ConfigModel
from headrace.config.cache_policy import CachePolicy
from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.step_configurations import StepConfiguration
from headrace.store.factory import init_repository

MODELS = [CachePolicy, PipelineConfiguration, PipelineRunConfiguration, StepConfiguration]


@pytest.mark.parametrize("model", MODELS)
def test_empty_equals_the_validated_default(model: type[ConfigModel]) -> None:
    empty = model.empty()
    assert empty == model()
    assert empty.model_fields_set == set()
    assert empty.set_fields_json() == {} == model().model_dump(mode="json", exclude_unset=True)


def test_set_fields_json_is_the_exclude_unset_dump() -> None:
    config = PipelineRunConfiguration(run_name="r", tags="a", steps={"s": {"enable_cache": False}})
    assert config.set_fields_json() == config.model_dump(mode="json", exclude_unset=True)
    assert config.set_fields_json()["steps"] == {"s": {"enable_cache": False}}


def test_empty_defaults_are_independent() -> None:
    first, second = StepConfiguration.empty(), StepConfiguration.empty()
    first.parameters["x"] = 1
    assert second.parameters == {}


def test_empty_still_validates_assignments() -> None:
    config = PipelineRunConfiguration.empty()
    with pytest.raises(ValueError):
        config.enable_cache = "not a bool"  # type: ignore[assignment]


def test_a_plain_pipeline_call_does_not_build_the_run_configuration(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        "from headrace import pipeline, step\n"
        "from headrace.config.pipeline_run_configuration import PipelineRunConfiguration\n"
        "@step\n"
        "def one() -> int:\n"
        "    return 1\n"
        "@pipeline(enable_cache=False)\n"
        "def p() -> None:\n"
        "    one()\n"
        "run = p()\n"
        "print(run.status.value, PipelineRunConfiguration.__pydantic_complete__)\n"
    )
    init_repository(tmp_path)
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["completed", "False"]
