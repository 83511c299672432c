"""The public surface: headrace.__all__ is sorted and complete, and the module paths the
seeds use import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import headrace


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert list(headrace.__all__) == sorted(headrace.__all__)
    for name in headrace.__all__:
        assert getattr(headrace, name) is not None, name


def test_seed_module_paths() -> None:
    paths = {
        "headrace.client": "Client",
        "headrace.config": "Schedule",
        "headrace.config.pipeline_run_configuration": "PipelineRunConfiguration",
        "headrace.artifacts.unmaterialized_artifact": "UnmaterializedArtifact",
        "headrace.artifacts.utils": "load_artifact",
        "headrace.enums": "ExecutionMode",
        "headrace.materializers": "BaseMaterializer",
        "headrace.materializers.base_materializer": "BaseMaterializer",
        "headrace.hooks": "alerter_failure_hook",
    }
    for module, name in paths.items():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
    for name in ("CachePolicy", "DockerSettings", "StepRetryConfig", "PipelineRunConfiguration"):
        assert hasattr(importlib.import_module("headrace.config"), name)
    assert headrace.Model.__name__ == "Model"


def test_importing_headrace_does_not_import_the_database_layer() -> None:
    code = (
        "import sys, headrace; "
        "print(','.join(m for m in ('sqlalchemy', 'alembic', 'fsspec', 'typer', 'rich', "
        "'pandas', 'numpy', 'cloudpickle') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
