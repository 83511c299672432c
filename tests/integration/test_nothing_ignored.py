"""Nothing a user writes is silently ignored: misspelt settings, options, cache-policy
names and YAML keys are named with the closest valid one; hooks that cannot be called
are refused at definition; a ``-> None`` step that returns a value fails, named."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from headrace import pipeline, step
from headrace.client import Client
from headrace.config import CachePolicy
from headrace.exceptions import ConfigurationError, DefinitionError, RunFailedError


@step
def add(a: int, b: int = 1) -> int:
    return a + b


@step
def announce(value: int) -> None:
    return value  # type: ignore[return-value]


@pipeline(enable_cache=False)
def adder(a: int = 1, b: int = 2) -> None:
    add(a=a, b=b)


# -- settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "key", "closest"),
    [
        ({"dokcer": {}}, "dokcer", "docker"),
        ({"resorces": {"cpu_count": 1}}, "resorces", "resources"),
        ({"docker": {"parent_imag": "python:3.11"}}, "parent_imag", "parent_image"),
        ({"resources": {"cpu_cont": 2}}, "cpu_cont", "cpu_count"),
        ({"step_operatr": {}}, "step_operatr", "step_operator"),
        ({"experiment_trackr": {}}, "experiment_trackr", "experiment_tracker"),
    ],
)
def test_unknown_settings_keys_name_the_closest_valid_one(
    settings: dict[str, object], key: str, closest: str
) -> None:
    for define in (
        lambda: step(settings=settings)(lambda: 1),
        lambda: pipeline(settings=settings)(lambda: None),
        lambda: adder.with_options(settings=settings),
        lambda: add.with_options(settings=settings),
    ):
        with pytest.raises(ConfigurationError) as info:
            define()
        message = str(info.value)
        assert repr(key) in message and f"did you mean {closest!r}?" in message, message


# -- options ----------------------------------------------------------------------------
def test_with_options_keywords_name_the_closest_valid_one() -> None:
    with pytest.raises(ConfigurationError, match=r"'enable_cahce' \(did you mean 'enable_cache'"):
        adder.with_options(enable_cahce=False)
    with pytest.raises(ConfigurationError, match=r"'enable_cahce' \(did you mean 'enable_cache'"):
        add.with_options(enable_cahce=False)
    with pytest.raises(ConfigurationError, match=r"'on_sucess' \(did you mean 'on_success'"):
        add.configure(on_sucess=lambda: None)


def test_cache_policy_fields_name_the_closest_valid_one() -> None:
    with pytest.raises(ValidationError, match=r"'ignore_fieldz' \(did you mean 'ignore_fields'"):
        CachePolicy(ignore_fieldz=["b"])  # type: ignore[call-arg]


def test_cache_policy_ignored_names_must_be_inputs(repo: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        add.with_options(cache_policy=CachePolicy(ignore_fields=["bb"]))(a=1)
    assert "Step 'add'" in str(info.value)
    assert "ignore_fields" in str(info.value) and "(did you mean 'b'?)" in str(info.value)

    @pipeline(cache_policy=CachePolicy(ignored_inputs=["aa"]))
    def policy_pipeline() -> None:
        add(a=1)

    with pytest.raises(ConfigurationError, match=r"ignored_inputs.*'aa' \(did you mean 'a'\?\)"):
        policy_pipeline()

    fine = add.with_options(cache_policy=CachePolicy(ignore_fields=["b"]))
    assert fine(a=1) == 2


# -- hooks and return values -------------------------------------------------------------
def test_hooks_that_cannot_be_called_are_refused_at_definition() -> None:
    def takes_two(a: object, b: object) -> None: ...

    def takes_one(a: object) -> None: ...

    refused = r"on_success hook takes_one\(a\) cannot be called with no"
    with pytest.raises(DefinitionError, match=refused):
        step(on_success=takes_one)(lambda: 1)
    with pytest.raises(DefinitionError, match="on_failure hook .*takes_two"):
        step(on_failure=takes_two)(lambda: 1)
    with pytest.raises(DefinitionError, match="on_cleanup hook"):
        pipeline(on_cleanup=takes_one)(lambda: None)
    with pytest.raises(DefinitionError, match="on_init hook"):
        pipeline(on_init=takes_two, on_init_kwargs={"a": 1})(lambda: None)
    with pytest.raises(DefinitionError, match="on_failure hook"):
        adder.with_options(on_failure=takes_two)
    # the shapes hooks do have are accepted
    step(on_failure=takes_one, on_success=lambda: None)(lambda: 1)
    pipeline(on_init=takes_two, on_init_kwargs={"a": 1, "b": 2})(lambda: None)


def test_a_step_annotated_none_that_returns_a_value_fails_naming_the_step(repo: Path) -> None:
    @pipeline(enable_cache=False)
    def returns_something() -> None:
        announce(add(a=1))

    with pytest.raises(RunFailedError):
        returns_something()
    run = Client().get_pipeline("returns_something").last_run
    error = run.steps["announce"].error
    assert error is not None
    assert "Step 'announce' is annotated '-> None' but returned a int" in error.message


# -- YAML run configurations -------------------------------------------------------------
YAML = textwrap.dedent(
    """
    enable_cache: false
    a: 5
    paramters:
      b: 1
    step_operator: sagemaker
    """
)


def test_unknown_top_level_yaml_keys_warn_with_where_they_belong(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = repo / "run.yaml"
    path.write_text(YAML, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="headrace"):
        configured = adder.with_options(config_path=path)
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "line 3: top-level key 'a' is not part of a run configuration; it is a parameter of the "
        "pipeline: put it under `parameters:`" in m
        for m in messages
    ), messages
    assert any("'paramters'" in m and "did you mean 'parameters'?" in m for m in messages)
    assert any("'step_operator'" in m and "put it under `steps: <step>:`" in m for m in messages)
    assert all("HEADRACE_STRICT_CONFIG=true makes this an error" in m for m in messages)
    run = configured()  # the run goes on with what was understood
    assert run.status.value == "completed"
    assert run.config == {"enable_cache": False}


def test_strict_config_makes_unknown_top_level_keys_an_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = repo / "run.yaml"
    path.write_text(YAML, encoding="utf-8")
    monkeypatch.setenv("HEADRACE_STRICT_CONFIG", "true")
    with pytest.raises(ConfigurationError) as info:
        adder.with_options(config_path=path)
    message = str(info.value)
    assert "HEADRACE_STRICT_CONFIG" in message
    assert "'a'" in message and "'paramters'" in message and "'step_operator'" in message


def test_unknown_nested_yaml_keys_are_errors_with_line_and_closest(repo: Path) -> None:
    path = repo / "run.yaml"
    path.write_text("steps:\n  add:\n    parmeters:\n      b: 3\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        adder.with_options(config_path=path)
    message = str(info.value)
    assert "line 2" in message and "'parmeters' (did you mean 'parameters'?)" in message


def test_the_yaml_warning_reaches_the_terminal_of_a_real_script(repo: Path) -> None:
    (repo / "run.yaml").write_text(YAML, encoding="utf-8")
    (repo / "script.py").write_text(
        textwrap.dedent(
            """
            from headrace import pipeline, step

            @step
            def add(a: int, b: int = 1) -> int:
                return a + b

            @pipeline
            def adder(a: int = 1, b: int = 2) -> None:
                add(a=a, b=b)

            adder.with_options(config_path="run.yaml")()
            """
        ),
        encoding="utf-8",
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "script.py"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Warning: run.yaml, line 3: top-level key 'a' is not part of a run" in result.stderr
    assert "completed" in result.stderr.splitlines()[-1]
