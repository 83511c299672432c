"""Run names: templates with ``{date}``, ``{time}`` and custom placeholders."""

from __future__ import annotations

import os
import string
from datetime import UTC, datetime

from headrace.exceptions import ConfigurationError
from headrace.utils.names import name_problem


def default_run_name(pipeline_name: str) -> str:
    """The template used when no run name is configured."""
    return f"{pipeline_name}-{{date}}-{{time}}"


def format_run_name(
    template: str, substitutions: dict[str, str], *, unique_suffix: bool = False
) -> str:
    """Fill ``{date}``, ``{time}`` and custom placeholders into a run name template.

    Raises:
        ConfigurationError: the template uses a placeholder that has no value, or the
            name it gives is not a safe name (path separators, ``..``, control characters).
    """
    now = datetime.now(UTC)
    values = {
        "date": now.strftime("%Y_%m_%d"),
        "time": now.strftime("%H_%M_%S_%f"),
        **substitutions,
    }
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    missing = sorted(fields - set(values))
    if missing:
        raise ConfigurationError(
            f"Run name {template!r} uses placeholder(s) {', '.join(missing)} with no value; "
            "known: date, time, and the keys of substitutions={...}."
        )
    try:
        name = template.format(**values)
    except (ValueError, IndexError) as exc:
        raise ConfigurationError(f"Run name {template!r} is not a valid template: {exc}") from exc
    problem = name_problem(name)
    if problem is not None:
        raise ConfigurationError(
            f"Run name {name!r} (from template {template!r}) {problem}; run names are "
            "printed and may name files."
        )
    if unique_suffix:
        name = f"{name}-{os.urandom(3).hex()}"
    return name
