"""The configuration reference page, generated from the pydantic configuration models.

Every field of every model below becomes a row: its key, type, default and meaning.
The meaning comes from the model's ``Attributes:`` docstring section, from the field's
``description``, or from ``NOTES`` here; a key with none of them fails the docs build,
so a new option cannot go undocumented.
"""

from __future__ import annotations

import importlib
import re
import types
import typing
from typing import Any

# (heading, "module:Class", where the keys are written)
SECTIONS: list[tuple[str, str, str]] = [
    (
        "Run configuration",
        "headrace.config.pipeline_run_configuration:PipelineRunConfiguration",
        "the top level of a YAML run configuration, `with_options(...)` keywords",
    ),
    (
        "Pipeline options",
        "headrace.config.pipeline_configurations:PipelineConfiguration",
        "`@pipeline(...)`, `my_pipeline.configure(...)`",
    ),
    (
        "Step options",
        "headrace.config.step_configurations:StepConfiguration",
        "`@step(...)`, `my_step.configure(...)`, `steps.<step name>` in YAML",
    ),
    (
        "Step outputs",
        "headrace.config.step_configurations:ArtifactConfiguration",
        "`steps.<step name>.outputs.<output name>` in YAML",
    ),
    ("Retries", "headrace.config.retry_config:StepRetryConfig", "`retry:`, `StepRetryConfig(...)`"),
    (
        "Cache policy",
        "headrace.config.cache_policy:CachePolicy",
        "`cache_policy:`, `CachePolicy(...)`",
    ),
    ("Model", "headrace.config.model:Model", "`model:`, `Model(...)`"),
    ("Schedule", "headrace.config.schedule:Schedule", "`schedule:`, `Schedule(...)`"),
    (
        "Docker settings",
        "headrace.config.docker_settings:DockerSettings",
        "`settings.docker`, `DockerSettings(...)`",
    ),
    (
        "Resource settings",
        "headrace.config.resource_settings:ResourceSettings",
        "`settings.resources`, `ResourceSettings(...)`",
    ),
    (
        "Artifact configuration",
        "headrace.config.artifact_config:ArtifactConfig",
        "`Annotated[T, ArtifactConfig(...)]` on a step output",
    ),
    (
        "Orchestrator flavor `local`",
        "headrace.stacks.configs:LocalOrchestratorConfig",
        "`headrace orchestrator register NAME --flavor=local --KEY=VALUE`, `settings.orchestrator`",
    ),
    (
        "Orchestrator flavor `ray`",
        "headrace.stacks.configs:RayOrchestratorConfig",
        "`headrace orchestrator register NAME --flavor=ray --KEY=VALUE`, `settings.orchestrator`",
    ),
    (
        "Artifact store flavor `local`",
        "headrace.stacks.configs:LocalArtifactStoreConfig",
        "`headrace artifact-store register NAME --flavor=local --KEY=VALUE`",
    ),
    (
        "Alerter flavor `webhook`",
        "headrace.stacks.configs:WebhookAlerterConfig",
        "`headrace alerter register NAME --flavor=webhook --KEY=VALUE`",
    ),
    (
        "Deployer flavor `local`",
        "headrace.stacks.deployer_config:LocalDeployerConfig",
        "`headrace deployer register NAME --flavor=local --KEY=VALUE`",
    ),
    (
        "Deployer flavor `docker`",
        "headrace.stacks.deployer_config:DockerDeployerConfig",
        "`headrace deployer register NAME --flavor=docker --KEY=VALUE`",
    ),
    (
        "Deployer flavor `kubernetes`",
        "headrace.stacks.deployer_config:KubernetesDeployerConfig",
        "`headrace deployer register NAME --flavor=kubernetes --KEY=VALUE`",
    ),
]

_SHARED = {
    "name": "Name; for a pipeline or step, the name it is recorded under.",
    "enable_cache": "Reuse results of identical earlier step runs (default: on).",
    "enable_artifact_metadata": "Record metadata extracted from outputs by their materializers.",
    "enable_artifact_visualization": "Record visualizations of outputs.",
    "enable_step_logs": "Keep what steps print and log.",
    "enable_pipeline_logs": "Keep the run's own log lines.",
    "settings": "`docker`, `resources` and stack component settings (`orchestrator`, "
    "`orchestrator.<flavor>`, `orchestrator.<component name>`); unknown keys are errors.",
    "tags": "Tags added to the run (a single string is one tag).",
    "extra": "Free-form values for your own code; headrace does not read them.",
    "model": "The model version the run works on (see Model).",
    "retry": "Retries of failing steps (see Retries).",
    "failure_hook_source": "Hook called when a step fails: a `module.function` source.",
    "success_hook_source": "Hook called when a step succeeds: a `module.function` source.",
    "substitutions": "Values for `{placeholders}` in run and artifact names.",
    "execution_mode": "`CONTINUE_ON_FAILURE` (default), `STOP_ON_FAILURE` or `FAIL_FAST`.",
    "cache_policy": "What enters cache keys and how old a cache hit may be (see Cache policy).",
    "environment": "Environment variables set while steps run, restored after.",
    "secrets": "Names of stored secrets exposed to steps as upper-cased environment variables.",
    "parameters": "Parameter values: of the pipeline function at the top level, of the step "
    "function under `steps.<name>`.",
}

NOTES: dict[str, dict[str, str]] = {
    "PipelineRunConfiguration": {
        **_SHARED,
        "run_name": "Name of the run; placeholders `{date}`, `{time}` and `substitutions`.",
        "schedule": "Accepted, but this version has no scheduler: a scheduled run is refused.",
        "build": "Recorded for ZenML compatibility (container builds are not made).",
        "steps": "Options per step id (see Step options).",
        "synchronous": "`false`: the pipeline call returns the run at once (`run.wait()`).",
    },
    "PipelineConfiguration": {
        **_SHARED,
        "init_hook_source": "Called once before the first step; its return value is "
        "`get_step_context().pipeline_state`.",
        "init_hook_kwargs": "Keyword arguments for the init hook.",
        "cleanup_hook_source": "Called once after the last step, whatever happened.",
        "dynamic": "Run the pipeline function at run time, so loops and branches on "
        "loaded outputs shape the graph.",
    },
    "StepConfiguration": {
        **_SHARED,
        "step_operator": "Recorded for ZenML compatibility; steps run on the orchestrator.",
        "experiment_tracker": "Recorded for ZenML compatibility.",
        "outputs": "Options per output name (see Step outputs).",
    },
    "ArtifactConfiguration": {
        "materializer_source": "Materializer(s) for the output, as `module.Class` sources.",
        "artifact_name": "Name of the artifact the output's versions belong to.",
    },
    "StepRetryConfig": {
        "max_retries": "How many times a failing step is tried again.",
        "delay": "Seconds before the first retry.",
        "backoff": "Factor the wait grows by with each retry (0 or 1: constant).",
    },
    "CachePolicy": {
        "include_step_code": "The step's code (and project code it calls) enters the key.",
        "include_step_parameters": "The step's parameters enter the key.",
        "include_artifact_values": "The content of input artifacts enters the key.",
        "include_artifact_ids": "The ids of input artifact versions enter the key.",
        "ignored_inputs": "Inputs left out of the key.",
        "ignore_fields": "Other parts of the key to leave out, by name.",
        "max_age_days": "A cache hit older than this is not used.",
        "source_dependencies": "Extra code (`module.name` sources) whose source enters the key.",
        "file_dependencies": "Files whose content enters the key.",
    },
    "Model": {
        "name": "The model's name.",
        "version": "Version name or number, a stage (`production`, `latest`, ...), or "
        "empty for a new numbered version per run.",
        "description": "Model card: description.",
        "license": "Model card: license.",
        "audience": "Model card: intended audience.",
        "use_cases": "Model card: use cases.",
        "limitations": "Model card: limitations.",
        "trade_offs": "Model card: trade-offs.",
        "ethics": "Model card: ethical considerations.",
        "tags": "Tags of the model.",
        "save_models_to_registry": "Accepted for ZenML compatibility.",
    },
    "Schedule": {
        "name": "Name of the schedule.",
        "cron_expression": "A cron expression.",
        "start_time": "When an interval schedule starts.",
        "end_time": "When the schedule stops.",
        "interval_second": "Interval between runs.",
        "catchup": "Run missed intervals.",
        "run_once_start_time": "A single run at this time.",
    },
    "DockerSettings": {
        "parent_image": "Base image of the generated Dockerfile.",
        "dockerfile": "Your own Dockerfile instead of a generated one.",
        "build_context_root": "Build context directory.",
        "requirements": "Extra requirements (a list, or a requirements file path).",
        "required_integrations": "Integrations whose requirements to install.",
        "apt_packages": "System packages to install.",
        "environment": "`ENV` lines of the image (`None` values are left out).",
        "python_package_installer": "`pip` or `uv`.",
        "install_stack_requirements": "Install the stack components' requirements.",
        "replicate_local_python_environment": "Pin the packages of the local environment.",
        "skip_build": "Use the parent image as it is.",
        "target_repository": "Repository the image would be pushed to.",
        "user": "User the container runs as.",
    },
    "ResourceSettings": {
        "cpu_count": "CPUs a step needs.",
        "gpu_count": "GPUs a step needs.",
        "memory": "Memory a step needs, e.g. `4GB`.",
    },
    "ArtifactConfig": {
        "name": "Artifact name (default: the output name, prefixed by nothing).",
        "version": "Version name (default: the next number).",
        "tags": "Tags of every version.",
        "run_metadata": "Metadata of every version.",
        "artifact_type": "`ArtifactType` of the versions.",
        "is_model_artifact": "Same as `artifact_type=ArtifactType.MODEL`.",
        "is_deployment_artifact": "Same as `artifact_type=ArtifactType.SERVICE`.",
    },
}


def _attribute_docs(doc: str) -> dict[str, str]:
    """``name: text`` entries of a Google-style ``Attributes:`` section."""
    found: dict[str, str] = {}
    match = re.search(r"^\s*Attributes:\s*$(.*?)(^\s*\w+:\s*$|\Z)", doc, re.M | re.S)
    if not match:
        return found
    current = None
    for line in match.group(1).splitlines():
        entry = re.match(r"^\s{4,8}(\w+):\s*(.*)$", line)
        if entry:
            current = entry.group(1)
            found[current] = entry.group(2).strip()
        elif current and line.strip():
            found[current] += " " + line.strip()
    return found


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return ""
    if hasattr(value, "value"):
        value = value.value
    return f"`{value!r}`" if not isinstance(value, bool) else f"`{str(value).lower()}`"


def _load(path: str) -> type:
    module, _, name = path.partition(":")
    return typing.cast(type, getattr(importlib.import_module(module), name))


def render() -> str:
    """The Markdown of every section; raises ``ValueError`` for an undocumented key."""
    missing: list[str] = []
    parts: list[str] = []
    for heading, path, where in SECTIONS:
        model = _load(path)
        doc = model.__doc__ or ""
        attrs = _attribute_docs(doc)
        notes = NOTES.get(model.__name__, {})
        summary = doc.strip().split("\n\n")[0].replace("\n", " ")
        parts.append(
            f"## {heading}\n\n{summary}\n\nWritten in: {where}. "
            f"Model: `{path.replace(':', '.')}`.\n"
        )
        parts.append("| key | type | default | meaning |\n|---|---|---|---|")
        for key, field in model.model_fields.items():  # type: ignore[attr-defined]
            meaning = attrs.get(key) or field.description or notes.get(key)
            if not meaning:
                missing.append(f"{model.__name__}.{key}")
                meaning = ""
            meaning = " ".join(meaning.split()).replace("|", "\\|")
            row = f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |"
            parts.append(row)
        parts.append("")
    if missing:
        raise ValueError(
            "configuration keys without documentation (add an Attributes: entry to the "
            "model's docstring or a note in scripts/docs/config_reference.py): "
            + ", ".join(missing)
        )
    return "\n".join(parts)
