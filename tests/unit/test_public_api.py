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


def test_config_names_load_on_first_access() -> None:
    code = (
        "import sys, headrace, headrace.config as c; "
        "lazy = ('headrace.config.docker_settings', 'headrace.config.resource_settings'); "
        "before = [m for m in lazy if m in sys.modules]; "
        "names = [getattr(c, n).__module__ for n in c.__all__]; "
        "print(before, all(m in sys.modules for m in lazy), names == "
        "['headrace.config.' + c._LAZY[n] for n in c.__all__])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True True"


def test_config_lazy_names_behave_like_attributes() -> None:
    import headrace.config as config
    from headrace.config import DockerSettings, Schedule
    from headrace.config.docker_settings import DockerSettings as Defined
    from headrace.config.schedule import Schedule as DefinedSchedule

    assert DockerSettings is Defined and Schedule is DefinedSchedule
    assert set(config.__all__) <= set(dir(config))
    try:
        config.NoSuchSetting  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchSetting" in str(exc)
    else:
        raise AssertionError("unknown names must raise AttributeError")
