"""The parameter schema of a snapshot, its configuration template, and validation.

The schema is JSON Schema, one object per step (and one for the pipeline), built from
the step functions' annotations, defaults and Google-style docstrings. Validation uses it
so a run configuration can be checked before anything runs, without the user's code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.spec import PipelineSpec
from headrace.exceptions import RunConfigurationError
from headrace.utils.numbers import non_finite_problem

# What a run of a snapshot may change; everything else is fixed by the snapshot.
OVERRIDABLE_RUN_FIELDS = frozenset(
    {
        "run_name",
        "enable_cache",
        "enable_artifact_metadata",
        "enable_artifact_visualization",
        "enable_step_logs",
        "enable_pipeline_logs",
        "steps",
        "settings",
        "tags",
        "extra",
        "environment",
        "secrets",
        "retry",
        "execution_mode",
        "cache_policy",
        "substitutions",
        "synchronous",
        "parameters",  # a static pipeline is compiled again with new ones
    }
)
OVERRIDABLE_STEP_FIELDS = frozenset(
    {
        "parameters",
        "enable_cache",
        "enable_artifact_metadata",
        "enable_artifact_visualization",
        "enable_step_logs",
        "settings",
        "extra",
        "environment",
        "secrets",
        "retry",
        "cache_policy",
    }
)

_ARG_LINE = re.compile(r"^\s{2,}(\w+)\s*(\([^)]*\))?:\s*(.*)$")


def docstring_arguments(docstring: str | None) -> dict[str, str]:
    """Descriptions of arguments from a Google-style ``Args:`` section."""
    if not docstring:
        return {}
    lines = inspect.cleandoc(docstring).splitlines()
    descriptions: dict[str, str] = {}
    inside = False
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            inside, current = True, None
            continue
        if inside and stripped.endswith(":") and not line.startswith(" "):
            break  # the next section
        if not inside:
            continue
        match = _ARG_LINE.match("  " + line if not line.startswith("  ") else line)
        if match and line.startswith("    ") and not line.startswith("      "):
            current = match.group(1)
            descriptions[current] = match.group(3).strip()
        elif current and stripped:
            descriptions[current] = f"{descriptions[current]} {stripped}".strip()
    return descriptions


def _annotation_schema(annotation: Any) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    try:
        from pydantic import TypeAdapter

        return TypeAdapter(annotation).json_schema()
    except Exception:
        return {}


def _function_schema(func: Any, values: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    import typing

    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    descriptions = docstring_arguments(getattr(func, "__doc__", None))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, parameter in inspect.signature(func).parameters.items():
        if name in skip:
            continue
        schema = dict(_annotation_schema(hints.get(name, inspect.Parameter.empty)))
        if name in values:
            schema["default"] = values[name]
        elif parameter.default is inspect.Parameter.empty:
            required.append(name)
        if name in descriptions:
            schema["description"] = descriptions[name]
        properties[name] = schema
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        result["required"] = required
    return result


def parameter_schema(spec: PipelineSpec, resolve: Any) -> dict[str, Any]:
    """JSON Schema of the pipeline's and each step's parameters (``resolve`` loads code)."""
    steps = {}
    for name, step in spec.steps.items():
        func = resolve(step.source)
        schema = _function_schema(func, step.parameters, skip=set(step.inputs))
        if step.docstring:
            schema["description"] = inspect.cleandoc(step.docstring).split("\n\n")[0]
        steps[name] = schema
    pipeline_func = resolve(spec.source)
    pipeline_schema = _function_schema(pipeline_func, spec.parameters, skip=set())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": spec.name,
        "type": "object",
        "properties": {
            "parameters": pipeline_schema,
            "steps": {"type": "object", "properties": steps, "additionalProperties": False},
        },
    }


def validate_run_configuration(
    snapshot_name: str,
    spec: PipelineSpec,
    schema: dict[str, Any],
    run_configuration: PipelineRunConfiguration | dict[str, Any] | None,
    code_modules: Sequence[str] | None = None,
) -> PipelineRunConfiguration:
    """Check a run configuration against a snapshot; every problem is reported at once.

    ``code_modules``: the top-level modules of the snapshot's code archive; a cache policy's
    ``source_dependencies`` may only name code below them (the runner imports each one).
    ``None`` (snapshots made before this was recorded) allows the modules of its steps.

    Raises:
        RunConfigurationError: listing each unknown step or parameter, wrong type,
            missing required value, attempt to change what the snapshot fixes, or source
            dependency outside the snapshot's code.
    """
    problems: list[str] = []
    config = _parse(run_configuration, problems)
    if config is None:
        raise RunConfigurationError(problems, subject=f"run configuration for {snapshot_name!r}")
    problems += _check_source_dependencies(config, spec, code_modules)
    problems += _check_pipeline_parameters(config.parameters, schema)
    # New pipeline parameters make a static pipeline compile again, so its steps may change:
    # steps the stored graph lacks are checked against the new graph when it is compiled.
    new_graph = any(spec.parameters.get(k, object()) != v for k, v in config.parameters.items())
    for field in sorted(config.model_fields_set - OVERRIDABLE_RUN_FIELDS):
        problems.append(
            f"{field!r} cannot be changed when running a snapshot: it is fixed by the snapshot."
        )
    step_schemas = schema.get("properties", {}).get("steps", {}).get("properties", {})
    for step_name, step_config in config.steps.items():
        if spec.config.dynamic:
            continue
        if step_name not in spec.steps:
            if new_graph:
                continue
            known = ", ".join(spec.steps)
            problems.append(f"unknown step {step_name!r} (steps: {known}).")
            continue
        for field in sorted(step_config.model_fields_set - OVERRIDABLE_STEP_FIELDS):
            problems.append(
                f"steps.{step_name}.{field} cannot be changed when running a snapshot "
                "(it is fixed by the snapshot)."
            )
        problems += _check_parameters(step_name, step_config.parameters, step_schemas, spec)
    if problems:
        raise RunConfigurationError(problems, subject=f"run configuration for {snapshot_name!r}")
    return config


def _check_source_dependencies(
    config: PipelineRunConfiguration, spec: PipelineSpec, code_modules: Sequence[str] | None
) -> list[str]:
    """Source dependencies are imported by the runner to hash them: only the snapshot's
    own code may be named, never any module installed where the runner runs."""
    allowed = set(code_modules) if code_modules is not None else set()
    if code_modules is None:
        allowed = {step.source.split(".", 1)[0] for step in spec.steps.values()}
        allowed.add(spec.source.split(".", 1)[0])
    policies = [("cache_policy", config.cache_policy)] + [
        (f"steps.{name}.cache_policy", step.cache_policy) for name, step in config.steps.items()
    ]
    problems = []
    for where, policy in policies:
        for source in policy.source_dependencies if policy is not None else []:
            if not isinstance(source, str) or source.split(".", 1)[0] not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                problems.append(
                    f"{where}.source_dependencies: {source!r} is not code of this snapshot; "
                    f"only its own modules may be named ({known})."
                )
    return problems


def _check_pipeline_parameters(parameters: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    import jsonschema

    properties = schema.get("properties", {}).get("parameters", {}).get("properties", {})
    problems = []
    for name, value in parameters.items():
        if name not in properties:
            known = ", ".join(properties) or "none"
            problems.append(f"parameters.{name}: unknown pipeline parameter (parameters: {known}).")
            continue
        non_finite = non_finite_problem(value)
        if non_finite is not None:
            problems.append(f"parameters.{name}: {non_finite}.")
            continue
        validator = jsonschema.Draft202012Validator(
            {k: v for k, v in properties[name].items() if k != "default"}
        )
        problems += [
            f"parameters.{name}: {value!r} is not valid: {error.message}."
            for error in validator.iter_errors(value)
        ]
    return problems


def _parse(
    value: PipelineRunConfiguration | dict[str, Any] | None, problems: list[str]
) -> PipelineRunConfiguration | None:
    if value is None:
        return PipelineRunConfiguration()
    if isinstance(value, PipelineRunConfiguration):
        return value
    from pydantic import ValidationError

    try:
        return PipelineRunConfiguration.model_validate(value)
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(p) for p in error["loc"]) or "(top level)"
            problems.append(f"{location}: {error['msg']}.")
        return None


def _check_parameters(
    step_name: str,
    parameters: dict[str, Any],
    step_schemas: dict[str, Any],
    spec: PipelineSpec,
) -> list[str]:
    import jsonschema

    problems = []
    schema = step_schemas.get(step_name, {})
    properties = schema.get("properties", {})
    step = spec.steps[step_name]
    for name, value in parameters.items():
        if name in step.inputs:
            problems.append(
                f"steps.{step_name}.parameters.{name}: this input receives the output of "
                "another step, so it cannot be set."
            )
            continue
        if name not in properties:
            known = ", ".join(properties) or "none"
            problems.append(
                f"steps.{step_name}.parameters.{name}: unknown parameter (parameters: {known})."
            )
            continue
        non_finite = non_finite_problem(value)
        if non_finite is not None:
            problems.append(f"steps.{step_name}.parameters.{name}: {non_finite}.")
            continue
        validator = jsonschema.Draft202012Validator(
            {k: v for k, v in properties[name].items() if k != "default"}
        )
        for error in validator.iter_errors(value):
            problems.append(
                f"steps.{step_name}.parameters.{name}: {value!r} is not valid: {error.message}."
            )
    for name in schema.get("required", []):
        if name not in parameters and name not in step.parameters:
            problems.append(f"steps.{step_name}.parameters.{name}: a value is required.")
    return problems
