"""Cache keys: what a step's result depends on, hashed.

The key covers the step's source reference and code (with the project code it reaches),
the code of explicitly chosen materializers, its parameters, the content hashes (or ids)
of its input artifacts, its outputs' names, types and materializers, the configuration
that changes its result (environment, secret names, settings), the artifact store the
outputs are written to, and any extra
``source_dependencies`` and ``file_dependencies`` of its cache policy. Each part can be
switched off or narrowed with ``CachePolicy``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from headrace.config.cache_policy import CachePolicy
from headrace.config.source import get_source_root
from headrace.config.spec import StepSpec
from headrace.dsl.code_hash import code_hash
from headrace.exceptions import ConfigurationError
from headrace.execution.run_state import OutputRecord, RunState
from headrace.utils.hashing import sha256_json

CACHE_KEY_VERSION = 1


def _file_digest(path: str) -> str:
    file = Path(path)
    if not file.is_absolute():
        file = get_source_root() / file
    try:
        if file.is_dir():
            digest = hashlib.sha256()
            for item in sorted(p for p in file.rglob("*") if p.is_file()):
                digest.update(str(item.relative_to(file)).encode())
                digest.update(hashlib.sha256(item.read_bytes()).digest())
            return digest.hexdigest()
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigurationError(
            f"Cache policy file dependency {path!r} cannot be read: {exc}."
        ) from exc


def compute_cache_key(
    state: RunState,
    step: StepSpec,
    policy: CachePolicy,
    inputs: dict[str, list[OutputRecord]],
    environment: dict[str, str],
    secrets: tuple[str, ...],
) -> str:
    """The cache key of a step invocation with these inputs."""
    ignored = set(policy.ignored_inputs) | set(policy.ignore_fields)
    parts: dict[str, Any] = {"v": CACHE_KEY_VERSION, "source": step.source}
    if policy.include_step_code:
        parts["code"] = step.code_hash
        materializers = sorted(
            {m for out in step.outputs.values() for m in (out.materializer_source or [])}
        )
        parts["materializer_code"] = [code_hash(state.resolve(m)) for m in materializers]
    if policy.include_step_parameters:
        parts["parameters"] = {k: v for k, v in step.parameters.items() if k not in ignored}
    if policy.include_artifact_values:
        parts["input_values"] = {
            name: [r.content_hash for r in records]
            for name, records in inputs.items()
            if name not in ignored
        }
    if policy.include_artifact_ids:
        parts["input_ids"] = {
            name: [r.artifact_version_id for r in records]
            for name, records in inputs.items()
            if name not in ignored
        }
    parts["outputs"] = {
        name: [out.data_type, out.materializer_source, out.artifact_name]
        for name, out in step.outputs.items()
    }
    # A result is reused only where its bytes are: runs on a stack with another artifact
    # store (another machine's directory, a bucket) recompute rather than point there.
    parts["artifact_store"] = state.artifact_store.path
    parts["config"] = {
        "environment": environment,
        "secrets": list(secrets),
        "settings": step.config.settings,
    }
    if policy.source_dependencies:
        parts["source_dependencies"] = [
            code_hash(state.resolve(source)) for source in policy.source_dependencies
        ]
    if policy.file_dependencies:
        parts["file_dependencies"] = [_file_digest(p) for p in policy.file_dependencies]
    return sha256_json(parts)
