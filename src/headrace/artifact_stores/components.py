"""The artifact store a stack component describes.

The local flavor is a directory; every other flavor names its implementation in the
flavor registry and is built from the component's validated configuration, with the
credentials of the secret it names read from the store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from headrace.artifact_stores.base import (
    ArtifactStore,
    artifact_store_for,
    registered_store_for,
)
from headrace.enums import StackComponentType

if TYPE_CHECKING:
    from headrace.models import StackComponentResponse
    from headrace.store.base import Store

_BUILT: dict[tuple[str, str, str, str], ArtifactStore] = {}


def artifact_store_from_component(
    component: StackComponentResponse, store: Store, stack_id: str | None = None
) -> ArtifactStore:
    """The artifact store of ``component`` (one instance per store, component and stack).

    Raises:
        StackComponentError: the configuration is invalid, the flavor's package is not
            installed or its secret cannot be read.
    """
    return artifact_store_from_configuration(
        component.flavor, component.configuration, store, stack_id, component.id
    )


def artifact_store_from_configuration(
    flavor: str,
    configuration: dict[str, Any],
    store: Store,
    stack_id: str | None = None,
    component_id: str = "",
) -> ArtifactStore:
    """The artifact store of a flavor and its configuration, as a stack component has
    them (a step task carries them to the process that runs it): endpoint, options and
    the credentials of the secret it names, read from ``store``.

    Raises:
        StackComponentError: the configuration is invalid, the flavor's package is not
            installed or its secret cannot be read.
    """
    from headrace.stacks.flavors import get_flavor, load_implementation, validate_configuration

    kind = get_flavor(StackComponentType.ARTIFACT_STORE, flavor)
    config: Any = validate_configuration(kind, configuration)
    if flavor == "local":
        return artifact_store_for(str(config.path), stack_id)
    key = (store.url, component_id, stack_id or "", json.dumps(configuration, sort_keys=True))
    found = _BUILT.get(key)
    if found is None:
        implementation = load_implementation(kind)
        found = implementation.from_config(
            config, stack_id, lambda name: store.get_secret(name, with_values=True).secret_values
        )
        _BUILT[key] = found
    return found


def artifact_store_for_url(url: str, store: Store | None) -> ArtifactStore | None:
    """The remote artifact store serving ``url``: one already built in this process, else
    the registered artifact store component whose root ``url`` is below."""
    found = registered_store_for(url)
    if found is not None or store is None:
        return found
    from headrace.models import StackComponentFilter

    components = store.list_stack_components(
        StackComponentFilter(type=StackComponentType.ARTIFACT_STORE, size=10_000)
    )
    best: StackComponentResponse | None = None
    for component in components.items:
        root = str(component.configuration.get("path", "")).rstrip("/")
        below = root and (url == root or url.startswith(root + "/"))
        longer = best is None or len(root) > len(str(best.configuration["path"]))
        if component.flavor != "local" and below and longer:
            best = component
    return None if best is None else artifact_store_from_component(best, store)
