"""Reading a workload manager's ``HEADRACE_*`` variables, every problem at once.

A manager reads its settings through one :class:`EnvironmentReader`, which records each
missing or malformed variable instead of stopping at the first, and :meth:`check`
raises one :class:`~headrace.exceptions.ServerConfigurationError` naming all of them,
so an operator fixes a deployment in one round instead of one restart per variable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headrace.exceptions import ServerConfigurationError
from headrace.utils.env import FALSY, TRUTHY


class EnvironmentReader:
    """Typed reads of environment variables that collect problems for :meth:`check`."""

    def __init__(self, environ: Mapping[str, str], manager: str) -> None:
        self._environ = environ
        self._manager = manager
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        return None if value is None or not value.strip() else value.strip()

    def string(self, name: str, *, required: bool = False, why: str = "") -> str | None:
        """The variable's text; ``None`` (and a problem when ``required``) if unset."""
        value = self._raw(name)
        if value is None and required:
            self.problems.append(f"{name} is required{f' ({why})' if why else ''}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean (true/false, 1/0, yes/no)."""
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in TRUTHY:
            return True
        if value.lower() in FALSY:
            return False
        self.problems.append(f"{name}={value!r} is not a boolean (use true or false)")
        return default

    def integer(self, name: str, default: int | None, *, minimum: int = 0) -> int | None:
        """A whole number of at least ``minimum``."""
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            self.problems.append(f"{name}={value!r} must be a whole number of at least {minimum}")
            return default
        return number

    def json_value(self, name: str, expected: type, example: str) -> Any:
        """JSON of type ``expected`` (``dict`` or ``list``); ``None`` if unset."""
        value = self._raw(name)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.problems.append(f"{name} is not valid JSON ({exc.msg}); expected e.g. {example}")
            return None
        if not isinstance(parsed, expected):
            kind = "object" if expected is dict else "list"
            self.problems.append(f"{name} must be a JSON {kind}, e.g. {example}")
            return None
        return parsed

    def problem(self, message: str) -> None:
        """Record a problem found by the caller (a combination of variables)."""
        self.problems.append(message)

    def check(self) -> None:
        """Raise one error naming every problem recorded, if any."""
        if self.problems:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            raise ServerConfigurationError(
                f"The {self._manager} workload manager is not configured correctly:\n{listed}"
            )
