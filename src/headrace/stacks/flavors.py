"""The flavor registry: which flavors each component type has, their configuration
models, and where their implementations live.

Code picks a component's behaviour by looking its flavor up here, never with an ``if``
on the flavor name. Implementations are named by a dotted source and imported only when
a component is used, so registering or listing flavors imports nothing heavy (Ray, an
HTTP client, ...).
"""

from __future__ import annotations

import builtins
import importlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from headrace.enums import StackComponentType
from headrace.exceptions import StackComponentError
from headrace.stacks.configs import (
    AzureArtifactStoreConfig,
    GCSArtifactStoreConfig,
    LocalArtifactStoreConfig,
    LocalOrchestratorConfig,
    RayOrchestratorConfig,
    S3ArtifactStoreConfig,
    WebhookAlerterConfig,
)
from headrace.stacks.deployer_config import (
    DockerDeployerConfig,
    KubernetesDeployerConfig,
    LocalDeployerConfig,
)
from headrace.stacks.kubernetes_config import KubernetesOrchestratorConfig
from headrace.utils.suggest import closest


@dataclass(frozen=True)
class Flavor:
    """One way to implement a component type.

    Attributes:
        type: the component type it implements.
        name: the flavor name (``local``, ``ray``, ``webhook``, ...).
        config_class: the pydantic model of its configuration (unknown keys forbidden).
        implementation_source: ``module.Class`` of the implementation, imported lazily.
        install_hint: what to install when the implementation cannot be imported.
    """

    type: StackComponentType
    name: str
    config_class: builtins.type[BaseModel]
    implementation_source: str
    install_hint: str = ""

    @property
    def allowed_keys(self) -> list[str]:
        """The configuration keys this flavor accepts, sorted."""
        return sorted(self.config_class.model_fields)


_FLAVORS: dict[tuple[StackComponentType, str], Flavor] = {}


def register_flavor(flavor: Flavor) -> None:
    """Add ``flavor`` to the registry (a later registration of the same name wins)."""
    _FLAVORS[(flavor.type, flavor.name)] = flavor


def list_flavors(type: StackComponentType | None = None) -> list[Flavor]:
    """The registered flavors, of one component type or of all, sorted by type and name."""
    found = [f for f in _FLAVORS.values() if type is None or f.type == type]
    return sorted(found, key=lambda f: (f.type.value, f.name))


def get_flavor(type: StackComponentType | str, name: str) -> Flavor:
    """The flavor ``name`` of component type ``type``.

    Raises:
        StackComponentError: no such flavor; the message names the allowed ones.
    """
    component_type = component_type_of(type)
    flavor = _FLAVORS.get((component_type, name))
    if flavor is None:
        allowed = ", ".join(f.name for f in list_flavors(component_type)) or "none"
        raise StackComponentError(
            f"Unknown {component_type.label} flavor {name!r}; allowed flavors: {allowed}."
        )
    return flavor


def component_type_of(value: StackComponentType | str) -> StackComponentType:
    """``value`` as a component type; ``artifact-store`` is accepted for ``artifact_store``.

    Raises:
        StackComponentError: not a component type; the message names the known ones.
    """
    if isinstance(value, StackComponentType):
        return value
    try:
        return StackComponentType(str(value).replace("-", "_"))
    except ValueError:
        known = ", ".join(t.value for t in StackComponentType)
        raise StackComponentError(
            f"Unknown stack component type {value!r}; expected one of {known}."
        ) from None


def validate_configuration(
    flavor: Flavor, values: dict[str, Any], *, subject: str | None = None
) -> BaseModel:
    """``values`` checked against ``flavor``'s configuration model.

    ``subject`` names where the values came from in messages (default: the flavor).

    Raises:
        StackComponentError: an unknown key (naming it, the closest valid key and the
            allowed ones), a missing key, or a value of the wrong kind.
    """
    where = subject or f"{flavor.type.label} flavor {flavor.name!r}"
    check_keys(flavor, values, subject=where)
    try:
        return flavor.config_class.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise StackComponentError(f"Invalid configuration of {where}: {problems}.") from None


def check_keys(flavor: Flavor, values: dict[str, Any], *, subject: str) -> None:
    """Refuse keys ``flavor`` does not know, naming the closest valid one.

    Raises:
        StackComponentError: the first unknown key, with a suggestion and the allowed keys.
    """
    allowed = flavor.allowed_keys
    for key in values:
        if key not in flavor.config_class.model_fields:
            raise StackComponentError(unknown_key_message(key, allowed, subject))


def unknown_key_message(key: str, allowed: list[str], subject: str) -> str:
    """``Unknown key 'x' in <subject>; did you mean 'y'? Allowed keys: ...``."""
    match = closest(str(key), allowed)
    hint = f"; did you mean {match!r}?" if match else "."
    keys = ", ".join(allowed) or "none"
    return f"Unknown key {key!r} in {subject}{hint} Allowed keys: {keys}."


def parse_value(flavor: Flavor, key: str, text: str) -> Any:
    """A configuration value typed on a command line: JSON where it parses (numbers,
    booleans, ``null``, lists, objects), else the text itself. A key whose field takes
    only text keeps the text as typed, so ``--namespace=123`` stays ``"123"``.
    """
    field = flavor.config_class.model_fields.get(key)
    if field is not None and field.annotation in (str, str | None):
        return None if text == "null" and field.annotation is not str else text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _problem(error: Any) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "value"
    if error.get("type") == "missing":
        return f"key {location!r} is required"
    return f"key {location!r}: {error.get('msg', 'invalid value')}"


def load_implementation(flavor: Flavor) -> Any:
    """Import the implementation class of ``flavor``.

    Raises:
        StackComponentError: it cannot be imported; names the source and what to install.
    """
    module_name, _, class_name = flavor.implementation_source.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        hint = f" Install it with: {flavor.install_hint}" if flavor.install_hint else ""
        raise StackComponentError(
            f"The {flavor.type.label} flavor {flavor.name!r} needs "
            f"{flavor.implementation_source}, which cannot be imported: {exc}.{hint}"
        ) from exc


for _flavor in (
    Flavor(
        StackComponentType.ORCHESTRATOR,
        "local",
        LocalOrchestratorConfig,
        "headrace.execution.orchestrators.local.LocalOrchestrator",
    ),
    Flavor(
        StackComponentType.ORCHESTRATOR,
        "ray",
        RayOrchestratorConfig,
        "headrace.execution.orchestrators.ray.RayOrchestrator",
        install_hint="pip install 'headrace[ray]'",
    ),
    Flavor(
        StackComponentType.ORCHESTRATOR,
        "kubernetes",
        KubernetesOrchestratorConfig,
        "headrace.execution.orchestrators.kubernetes.orchestrator.KubernetesOrchestrator",
        install_hint="pip install 'headrace[kubernetes]'",
    ),
    Flavor(
        StackComponentType.ARTIFACT_STORE,
        "local",
        LocalArtifactStoreConfig,
        "headrace.artifact_stores.base.LocalArtifactStore",
    ),
    Flavor(
        StackComponentType.ARTIFACT_STORE,
        "s3",
        S3ArtifactStoreConfig,
        "headrace.artifact_stores.remote.S3ArtifactStore",
        install_hint="pip install 'headrace[s3]'",
    ),
    Flavor(
        StackComponentType.ARTIFACT_STORE,
        "gcs",
        GCSArtifactStoreConfig,
        "headrace.artifact_stores.remote.GCSArtifactStore",
        install_hint="pip install 'headrace[gcs]'",
    ),
    Flavor(
        StackComponentType.ARTIFACT_STORE,
        "azure",
        AzureArtifactStoreConfig,
        "headrace.artifact_stores.remote.AzureArtifactStore",
        install_hint="pip install 'headrace[azure]'",
    ),
    Flavor(
        StackComponentType.ALERTER,
        "webhook",
        WebhookAlerterConfig,
        "headrace.stacks.alerters.WebhookAlerter",
    ),
    Flavor(
        StackComponentType.DEPLOYER,
        "local",
        LocalDeployerConfig,
        "headrace.deployments.deployers.local.LocalDeployer",
    ),
    Flavor(
        StackComponentType.DEPLOYER,
        "docker",
        DockerDeployerConfig,
        "headrace.deployments.deployers.docker.DockerDeployer",
    ),
    Flavor(
        StackComponentType.DEPLOYER,
        "kubernetes",
        KubernetesDeployerConfig,
        "headrace.deployments.deployers.kubernetes.KubernetesDeployer",
        install_hint="pip install 'headrace[kubernetes]'",
    ),
):
    register_flavor(_flavor)
