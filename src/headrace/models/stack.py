"""Stacks and stack components: where a run executes (orchestrator), where its artifacts
live (artifact store) and who hears about it (alerter)."""

from typing import Any

from pydantic import Field

from headrace.enums import StackComponentType
from headrace.models.base import RequestModel, ResponseModel
from headrace.models.filters import BaseFilter
from headrace.utils.factories import new_dict


class StackComponentResponse(ResponseModel):
    """A named component: a flavor of its type plus that flavor's configuration."""

    name: str
    type: StackComponentType
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=new_dict)

    def validated_configuration(self) -> Any:
        """The configuration as the flavor's pydantic model (checked against it)."""
        from headrace.stacks.flavors import get_flavor, validate_configuration

        flavor = get_flavor(self.type, self.flavor)
        subject = f"{self.type.label} {self.name!r} ({self.flavor})"
        return validate_configuration(flavor, self.configuration, subject=subject)

    def post(self, message: str, params: Any = None) -> bool:
        """Send ``message`` through this alerter (``Client().active_stack.alerter.post``).

        Returns:
            Whether the receiver accepted it; a failed delivery is logged, not raised.

        Raises:
            StackComponentError: this component is not an alerter.
        """
        from headrace.exceptions import StackComponentError
        from headrace.stacks.flavors import get_flavor, load_implementation

        if self.type is not StackComponentType.ALERTER:
            raise StackComponentError(
                f"{self.type.label.capitalize()} {self.name!r} is not an alerter; "
                "only alerters can post messages."
            )
        implementation = load_implementation(get_flavor(self.type, self.flavor))
        return bool(implementation(self.validated_configuration()).post(message, params))


class StackResponse(ResponseModel):
    """A named stack: at most one component per type, by type."""

    name: str
    components: dict[StackComponentType, StackComponentResponse] = Field(default_factory=new_dict)

    def component(self, type: StackComponentType | str) -> StackComponentResponse | None:
        """The stack's component of ``type``, or ``None``."""
        return self.components.get(StackComponentType(type))

    def _required(self, type: StackComponentType) -> StackComponentResponse:
        found = self.components.get(type)
        if found is None:
            from headrace.exceptions import StackComponentError

            raise StackComponentError(f"Stack {self.name!r} has no {type.label}.")
        return found

    @property
    def orchestrator(self) -> StackComponentResponse:
        """The stack's orchestrator."""
        return self._required(StackComponentType.ORCHESTRATOR)

    @property
    def artifact_store(self) -> StackComponentResponse:
        """The stack's artifact store."""
        return self._required(StackComponentType.ARTIFACT_STORE)

    @property
    def alerter(self) -> StackComponentResponse | None:
        """The stack's alerter, if it has one."""
        return self.components.get(StackComponentType.ALERTER)

    @property
    def deployer(self) -> StackComponentResponse | None:
        """The stack's deployer, if it has one."""
        return self.components.get(StackComponentType.DEPLOYER)

    @property
    def artifact_store_path(self) -> str:
        """Root URI of the stack's artifact store."""
        return str(self.artifact_store.configuration["path"])

    @property
    def orchestrator_flavor(self) -> str:
        """Flavor of the stack's orchestrator (``local``, ...)."""
        return self.orchestrator.flavor


class StackComponentRequest(RequestModel):
    """Register a component; the configuration is checked against the flavor."""

    name: str = Field(min_length=1, max_length=255)
    type: StackComponentType
    flavor: str
    configuration: dict[str, Any] = Field(default_factory=new_dict)


class StackComponentUpdate(RequestModel):
    """Change a component: a new name and/or configuration (replaces the stored one)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    configuration: dict[str, Any] | None = None


class StackRequest(RequestModel):
    """Register a stack from component ids, one per type."""

    name: str = Field(min_length=1, max_length=255)
    components: dict[StackComponentType, str]


class StackUpdate(RequestModel):
    """Change a stack: a new name, and components to set (an id) or remove (``None``)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    components: dict[StackComponentType, str | None] = Field(default_factory=new_dict)


class StackFilter(BaseFilter):
    """Filter stacks (``component_id``: stacks that use that component)."""

    sort_by: str = "asc:name"
    component_id: str | None = None


class StackComponentFilter(BaseFilter):
    """Filter stack components."""

    sort_by: str = "asc:name"
    type: StackComponentType | None = None
    flavor: str | None = None
