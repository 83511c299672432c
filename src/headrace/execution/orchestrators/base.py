"""The orchestrator interface: a plan, a way to run one step, a way to record one that won't run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from headrace.enums import ExecutionMode, ExecutionStatus
from headrace.utils.records import FrozenRecord

RunStep = Callable[[str], ExecutionStatus]
MarkStep = Callable[[str, ExecutionStatus, str], None]


class ExecutionPlan(FrozenRecord):
    """Steps in topological order with their upstream steps."""

    __slots__ = ("order", "upstream")
    order: list[str]
    upstream: dict[str, list[str]]

    def __init__(self, order: list[str], upstream: dict[str, list[str]]) -> None:
        self._init(order=order, upstream=upstream)

    def downstream(self) -> dict[str, list[str]]:
        """Each step's direct dependents."""
        result: dict[str, list[str]] = {name: [] for name in self.order}
        for name in self.order:
            for up in self.upstream[name]:
                result[up].append(name)
        return result


class BaseOrchestrator(ABC):
    """Runs a plan; returns every step's final status."""

    @abstractmethod
    def run(
        self, plan: ExecutionPlan, run_step: RunStep, mark_step: MarkStep, mode: ExecutionMode
    ) -> dict[str, ExecutionStatus]:
        """Execute ``plan`` with ``run_step``; record steps that never start with ``mark_step``."""
