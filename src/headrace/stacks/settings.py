"""Settings for stack components: a pipeline's ``settings["orchestrator..."]`` applied
on top of the stack's orchestrator configuration.

Three keys target the orchestrator, later ones winning: ``orchestrator`` (whatever the
stack's orchestrator is), ``orchestrator.<flavor>`` (only when the stack's orchestrator
has that flavor) and ``orchestrator.<component name>`` (only that component). Keys for
another flavor are ignored, as they target another stack; any unknown key inside an
applied entry is an error, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from headrace.enums import StackComponentType
from headrace.exceptions import StackComponentError
from headrace.stacks.flavors import (
    check_keys,
    get_flavor,
    list_flavors,
    unknown_key_message,
    validate_configuration,
)

if TYPE_CHECKING:
    from headrace.models.stack import StackResponse

ORCHESTRATOR = StackComponentType.ORCHESTRATOR


def orchestrator_configuration(
    stack: StackResponse,
    pipeline_settings: Mapping[str, Any],
    step_settings: Mapping[str, Any] | None = None,
) -> BaseModel:
    """The configuration the stack's orchestrator runs this pipeline (or step) with.

    Raises:
        StackComponentError: the stack has no orchestrator, its flavor is unknown, or a
            settings entry has an unknown key or a bad value (naming the settings key).
    """
    component = stack.component(ORCHESTRATOR)
    if component is None:
        raise StackComponentError(f"Stack {stack.name!r} has no orchestrator.")
    flavor = get_flavor(ORCHESTRATOR, component.flavor)
    values = dict(component.configuration)
    keys = applied_keys(component.flavor, component.name)
    for owner, settings in (("pipeline", pipeline_settings), ("step", step_settings or {})):
        for key in keys:
            entry = _entry(settings.get(key))
            if entry:
                where = f"{owner} settings[{key!r}] (the stack's orchestrator "
                where += f"{component.name!r} has flavor {flavor.name})"
                check_keys(flavor, entry, subject=where)
                values.update(entry)
    subject = f"orchestrator {component.name!r} ({flavor.name}) with the run's settings"
    return validate_configuration(flavor, values, subject=subject)


def applied_keys(flavor_name: str, component_name: str) -> tuple[str, ...]:
    """The settings keys that apply to an orchestrator, weakest first."""
    return ("orchestrator", f"orchestrator.{flavor_name}", f"orchestrator.{component_name}")


def check_component_settings(key: str, values: Mapping[str, Any], *, owner: str) -> None:
    """Check a ``settings`` entry for a stack component before any stack is known.

    ``orchestrator.<flavor>`` is checked against that flavor; plain ``orchestrator``
    against every orchestrator flavor (a key none of them knows is surely wrong);
    ``orchestrator.<name>`` may name a component, so it is checked at run time.

    Raises:
        StackComponentError: a key no applicable flavor knows, naming it.
    """
    type_name, _, suffix = key.partition(".")
    if type_name != ORCHESTRATOR.value:
        return
    subject = f"{owner}: settings[{key!r}]"
    flavors = {f.name: f for f in list_flavors(ORCHESTRATOR)}
    if suffix in flavors:
        check_keys(flavors[suffix], dict(values), subject=subject)
        return
    if suffix:
        return
    known = sorted({k for f in flavors.values() for k in f.allowed_keys})
    for name in values:
        if name not in known:
            raise StackComponentError(unknown_key_message(name, known, subject))


def _entry(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if not isinstance(value, Mapping):
        raise StackComponentError(
            f"Orchestrator settings must be a mapping, got {type(value).__name__}."
        )
    return dict(value)
