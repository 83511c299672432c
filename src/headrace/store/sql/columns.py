"""The tables' column names and value kinds, without SQLAlchemy.

``schema.py`` defines the tables for Alembic; opening a store and running a pipeline
must not import SQLAlchemy (a third of a second on every ``python run.py``), so the
store reads what it needs here: which columns a table has (for ``SELECT`` lists,
``INSERT`` column lists and sortable fields) and which hold JSON, timestamps or booleans
(to encode parameters and decode rows). A test keeps this module and ``schema.py`` in
agreement, so a column added to one and not the other fails the suite.

A column name has one kind in every table it appears in, so rows can be decoded by
column name alone, whatever join produced them.
"""

from __future__ import annotations

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "stacks": ("id", "name", "created"),
    "pipelines": ("id", "name", "created", "docstring"),
    "snapshots": (
        "id",
        "name",
        "description",
        "pipeline_id",
        "stack_id",
        "spec_hash",
        "spec",
        "runnable",
        "extra",
        "created",
    ),
    "pipeline_runs": (
        "id",
        "name",
        "pipeline_id",
        "snapshot_id",
        "stack_id",
        "status",
        "status_reason",
        "config",
        "parameters",
        "tags",
        "outputs",
        "created",
        "start_time",
        "end_time",
        "triggered_by_step_run_id",
        "orchestrator_run_id",
        "unlisted",
        "hook_errors",
        "model_version_id",
        "run_metadata",
        "run_metadata_types",
        "driver_host",
        "driver_pid",
        "driver_started",
        "heartbeat",
        "stop_requested",
        "resumed_from_run_id",
    ),
    "step_runs": (
        "id",
        "pipeline_run_id",
        "name",
        "step_name",
        "status",
        "status_reason",
        "source",
        "code_hash",
        "cache_key",
        "parameters",
        "config",
        "docstring",
        "created",
        "start_time",
        "end_time",
        "original_step_run_id",
        "error",
        "attempts",
        "logs_uri",
        "attempt_errors",
        "hook_errors",
        "model_version_id",
        "run_metadata",
        "run_metadata_types",
    ),
    "artifacts": ("id", "name", "has_custom_name", "version_count", "created"),
    "artifact_versions": (
        "id",
        "artifact_id",
        "version",
        "version_number",
        "uri",
        "materializer",
        "data_type",
        "content_hash",
        "size",
        "python_version",
        "type",
        "artifact_store_id",
        "producer_step_run_id",
        "metadata",
        "tags",
        "created",
        "metadata_types",
        "visualizations",
    ),
    "step_run_inputs": ("step_run_id", "name", "position", "artifact_version_id"),
    "step_run_outputs": ("step_run_id", "name", "position", "artifact_version_id"),
    "secrets": ("id", "name", "created", "updated", "keys", "ciphertext"),
    "models": (
        "id",
        "name",
        "created",
        "description",
        "license",
        "audience",
        "use_cases",
        "limitations",
        "trade_offs",
        "ethics",
        "version_count",
    ),
    "model_versions": (
        "id",
        "model_id",
        "name",
        "number",
        "stage",
        "description",
        "created",
        "updated",
        "run_metadata",
        "run_metadata_types",
    ),
    "model_version_runs": ("model_version_id", "pipeline_run_id", "created"),
    "model_version_artifacts": ("model_version_id", "artifact_version_id", "created"),
    "tags": ("id", "name", "created"),
    "tag_resources": ("tag_id", "resource_type", "resource_id", "created"),
    "stack_components": (
        "id",
        "name",
        "type",
        "flavor",
        "configuration",
        "created",
        "updated",
    ),
    "stack_composition": ("stack_id", "component_type", "component_id"),
    "store_settings": ("name", "value"),
}

JSON_COLUMNS = frozenset(
    {
        "attempt_errors",
        "config",
        "configuration",
        "error",
        "extra",
        "hook_errors",
        "keys",
        "metadata",
        "metadata_types",
        "outputs",
        "parameters",
        "run_metadata",
        "run_metadata_types",
        "spec",
        "tags",
        "visualizations",
    }
)
DATETIME_COLUMNS = frozenset({"created", "end_time", "heartbeat", "start_time", "updated"})
BOOLEAN_COLUMNS = frozenset({"has_custom_name", "runnable", "unlisted"})


def columns(table: str) -> tuple[str, ...]:
    """The column names of ``table``."""
    return TABLE_COLUMNS[table]
