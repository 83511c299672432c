"""Stacks: where a run executes (orchestrator) and where its artifacts live."""

from typing import Any

from pydantic import Field

from headrace.models.base import ResponseModel
from headrace.utils.factories import new_dict


class StackResponse(ResponseModel):
    """A named stack; ``components`` maps a component type to its flavor and config."""

    name: str
    components: dict[str, dict[str, Any]] = Field(default_factory=new_dict)

    @property
    def artifact_store_path(self) -> str:
        """Root URI of the stack's artifact store."""
        return str(self.components["artifact_store"]["path"])

    @property
    def orchestrator_flavor(self) -> str:
        """Flavor of the stack's orchestrator (``local``, ...)."""
        return str(self.components.get("orchestrator", {}).get("flavor", "local"))
