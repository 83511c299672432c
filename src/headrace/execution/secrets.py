"""Secrets and environment variables a run or a step applies while it executes.

The pipeline's environment and secrets are set for the whole run (in the driver, and
again in any process that runs one of its steps); a step's own are set around its call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from headrace.exceptions import EntityNotFoundError, SecretError

if TYPE_CHECKING:
    from headrace.config.spec import PipelineSpec
    from headrace.store.base import Store


def secret_environment(store: Store, spec: PipelineSpec) -> dict[str, str]:
    """Environment variables from the pipeline's secrets: each key, upper-cased.

    Raises:
        SecretError: a secret the pipeline names does not exist (nothing has run yet).
    """
    for step in spec.steps.values():  # step secrets must exist too, before anything runs
        for name in step.config.secrets:
            try:
                store.get_secret(name)  # existence only: decrypted when the step runs
            except EntityNotFoundError as exc:
                raise SecretError(
                    f"Step {step.invocation_id!r} needs secret {name!r}, which does not "
                    f"exist; create it with `headrace secret create {name} --KEY=VALUE`."
                ) from exc
    return pipeline_secret_values(store, spec.config.secrets, f"Pipeline {spec.name!r}")


def pipeline_secret_values(
    store: Store, names: tuple[str, ...] | list[str], owner: str
) -> dict[str, str]:
    """The values of several secrets as one environment (later names win)."""
    environment: dict[str, str] = {}
    for name in names:
        environment.update(secret_values(store, name, owner))
    return environment


def secret_values(store: Store, name: str, owner: str) -> dict[str, str]:
    """A secret's values as environment variables (keys upper-cased).

    Raises:
        SecretError: no secret of that name exists; ``owner`` names who needs it.
    """
    try:
        secret = store.get_secret(name, with_values=True)
    except EntityNotFoundError as exc:
        raise SecretError(
            f"{owner} needs secret {name!r}, which does not exist; create it with "
            f"`headrace secret create {name} --KEY=VALUE`."
        ) from exc
    return {key.upper(): value for key, value in secret.secret_values.items()}


def _nothing() -> None:
    """Restores nothing."""


def environment_applied(environment: dict[str, str]) -> Callable[[], None]:
    """Set environment variables now; returns a function that restores the old values."""
    if not environment:
        return _nothing
    previous = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)

    def restore() -> None:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    return restore
