"""Hostile YAML (alias bombs, deep nesting) is refused quickly with a clear error, in every
place headrace reads YAML from outside."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.yaml_loader import MAX_DEPTH, load_yaml_text, validate_yaml
from headrace.exceptions import ConfigurationError

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{','.join(['*' + chr(ord('a') + i - 1)] * 9)}]"
        for i in range(1, 9)
    ]
    + ["run_name: *i"]
)


def _timed_refusal(path: Path, match: str) -> ConfigurationError:
    started = time.perf_counter()
    with pytest.raises(ConfigurationError, match=match) as info:
        validate_yaml(PipelineRunConfiguration, path)
    assert time.perf_counter() - started < 1.0
    assert str(path) in str(info.value)
    return info.value


def test_billion_laughs_is_refused_in_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 700
    _timed_refusal(path, "expands to more than")


def test_deep_nesting_is_refused_in_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("settings: " + "[" * 5000 + "]" * 5000 + "\n")
    error = _timed_refusal(path, f"deeper than {MAX_DEPTH} levels")
    assert len(str(error).splitlines()) < 5
    mapping = tmp_path / "deep_mapping.yaml"
    mapping.write_text("".join("  " * i + f"k{i}:\n" for i in range(1000)) + "  " * 1000 + "v\n")
    _timed_refusal(mapping, "deeper than")


def test_ordinary_aliases_still_load(tmp_path: Path) -> None:
    text = "base: &base {enable_cache: false}\nsteps:\n  a: *base\n  b: *base\n"
    assert load_yaml_text(text, "x.yaml")["steps"]["b"] == {"enable_cache": False}
    path = tmp_path / "run.yaml"
    path.write_text("enable_cache: false\nsteps:\n  s:\n    parameters: {n: 3}\n")
    assert validate_yaml(PipelineRunConfiguration, path).enable_cache is False
