"""Which orchestrator a run uses: the stack's orchestrator flavor, configured by settings.

``build_orchestrator`` is the only place that turns a stack and a pipeline's settings
into an orchestrator; the launcher never branches on a flavor name. The flavor (its
configuration model and implementation) comes from the flavor registry of
``headrace.stacks``; the configuration is the stack component's, overridden by the
pipeline's ``orchestrator``, ``orchestrator.<flavor>`` and ``orchestrator.<component>``
settings, with unknown keys refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.enums import StackComponentType
from headrace.stacks.flavors import get_flavor, load_implementation
from headrace.stacks.settings import orchestrator_configuration

if TYPE_CHECKING:
    from headrace.execution.orchestrators.base import BaseOrchestrator
    from headrace.models.stack import StackResponse


def build_orchestrator(stack: StackResponse, settings: dict[str, Any]) -> BaseOrchestrator:
    """The orchestrator of ``stack``, configured by a pipeline's ``settings``.

    Raises:
        StackComponentError: no orchestrator, an unknown flavor, a bad setting, or an
            implementation that cannot be imported (naming what to install).
    """
    config = orchestrator_configuration(stack, settings)
    component = stack.component(StackComponentType.ORCHESTRATOR)
    flavor_name = component.flavor if component is not None else stack.orchestrator_flavor
    implementation = load_implementation(get_flavor(StackComponentType.ORCHESTRATOR, flavor_name))
    orchestrator: BaseOrchestrator = implementation(config)
    return orchestrator
