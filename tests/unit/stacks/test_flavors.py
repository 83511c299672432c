"""The flavor registry: lookups, configuration checks and command-line values."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from headrace.enums import StackComponentType
from headrace.exceptions import ConfigurationError, StackComponentError
from headrace.stacks.configs import LocalArtifactStoreConfig, LocalOrchestratorConfig
from headrace.stacks.flavors import (
    Flavor,
    component_type_of,
    get_flavor,
    list_flavors,
    load_implementation,
    parse_value,
    validate_configuration,
)

ORCHESTRATOR = StackComponentType.ORCHESTRATOR


def test_the_built_in_flavors_are_registered() -> None:
    names = {(f.type, f.name) for f in list_flavors()}
    assert names == {
        (ORCHESTRATOR, "local"),
        (ORCHESTRATOR, "ray"),
        (ORCHESTRATOR, "kubernetes"),
        (StackComponentType.ARTIFACT_STORE, "local"),
        (StackComponentType.ARTIFACT_STORE, "s3"),
        (StackComponentType.ARTIFACT_STORE, "gcs"),
        (StackComponentType.ARTIFACT_STORE, "azure"),
        (StackComponentType.ALERTER, "webhook"),
        (StackComponentType.DEPLOYER, "local"),
        (StackComponentType.DEPLOYER, "docker"),
        (StackComponentType.DEPLOYER, "kubernetes"),
    }
    assert get_flavor("orchestrator", "local").config_class is LocalOrchestratorConfig
    assert get_flavor("artifact-store", "local").config_class is LocalArtifactStoreConfig


def test_every_configuration_model_forbids_unknown_keys() -> None:
    for flavor in list_flavors():
        assert flavor.config_class.model_config.get("extra") == "forbid", flavor.name


def test_an_unknown_flavor_names_the_allowed_ones() -> None:
    with pytest.raises(
        StackComponentError, match="orchestrator flavor 'k8s'; allowed .*kubernetes, local, ray"
    ):
        get_flavor(ORCHESTRATOR, "k8s")
    with pytest.raises(StackComponentError, match="type 'scheduler'.*orchestrator"):
        component_type_of("scheduler")
    assert issubclass(StackComponentError, ConfigurationError)


def test_a_misspelled_key_is_refused_with_the_closest_and_the_allowed_keys() -> None:
    flavor = get_flavor(ORCHESTRATOR, "local")
    with pytest.raises(StackComponentError) as caught:
        validate_configuration(flavor, {"max_paralelism": 2})
    message = str(caught.value)
    assert "Unknown key 'max_paralelism'" in message
    assert "did you mean 'max_parallelism'?" in message
    assert "Allowed keys: max_parallelism, processes, synchronous." in message
    with pytest.raises(StackComponentError, match="'zzz' in .*\\. Allowed keys"):
        validate_configuration(flavor, {"zzz": 1})


def test_bad_values_and_missing_keys_name_the_key() -> None:
    local = get_flavor(ORCHESTRATOR, "local")
    with pytest.raises(StackComponentError, match="key 'max_parallelism': .*greater than or equal"):
        validate_configuration(local, {"max_parallelism": 0})
    webhook = get_flavor(StackComponentType.ALERTER, "webhook")
    with pytest.raises(StackComponentError, match="key 'url' is required"):
        validate_configuration(webhook, {})
    with pytest.raises(StackComponentError, match="key 'url': .*http:// or https://"):
        validate_configuration(webhook, {"url": "ftp://x"})


def test_a_valid_configuration_is_the_flavor_model(tmp_path: object) -> None:
    ray = validate_configuration(get_flavor(ORCHESTRATOR, "ray"), {"address": "ray://h:10001"})
    assert ray.address == "ray://h:10001"  # type: ignore[attr-defined]
    assert ray.init_timeout_s == 30.0  # type: ignore[attr-defined]
    store = validate_configuration(
        get_flavor(StackComponentType.ARTIFACT_STORE, "local"), {"path": "relative/dir"}
    )
    assert store.path.startswith("/") and store.path.endswith("relative/dir")  # type: ignore[attr-defined]
    bucket = LocalArtifactStoreConfig(path="s3://bucket/root")
    assert bucket.path == "s3://bucket/root"


def test_command_line_values_are_json_where_they_parse() -> None:
    local = get_flavor(ORCHESTRATOR, "local")
    ray = get_flavor(ORCHESTRATOR, "ray")
    assert parse_value(local, "max_parallelism", "4") == 4
    assert parse_value(local, "processes", "true") is True
    assert parse_value(local, "synchronous", "null") is None
    assert parse_value(ray, "runtime_env", '{"pip": ["x"]}') == {"pip": ["x"]}
    assert parse_value(ray, "address", "127.0.0.1:6379") == "127.0.0.1:6379"
    assert parse_value(ray, "namespace", "123") == "123"  # a text field keeps its text
    assert parse_value(ray, "namespace", "null") is None
    assert parse_value(local, "unknown", "word") == "word"


def test_implementations_are_imported_only_when_asked_for() -> None:
    class Config(BaseModel):
        pass

    missing = Flavor(ORCHESTRATOR, "nowhere", Config, "headrace_missing.module.Thing", "pip x")
    with pytest.raises(StackComponentError, match="headrace_missing.module.Thing.*pip x"):
        load_implementation(missing)
    webhook = load_implementation(get_flavor(StackComponentType.ALERTER, "webhook"))
    assert webhook.__name__ == "WebhookAlerter"
