"""Reading a YAML run configuration: unknown top-level keys warn, everything else is strict.

ZenML ignores top-level keys it does not know, and its own project templates carry some,
so refusing them would break projects that switch; silently dropping them would hide a
misplaced pipeline parameter. A top-level key that is not part of a run configuration
is therefore a warning naming the key, its line and where it probably belongs, and the
run goes on. ``HEADRACE_STRICT_CONFIG=true`` makes it an error. Unknown keys below the
top level (``steps.<step>.parmeters``) are always errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from headrace.config.pipeline_configurations import PipelineConfiguration
from headrace.config.pipeline_run_configuration import PipelineRunConfiguration
from headrace.config.step_configurations import StepConfiguration
from headrace.config.yaml_loader import read_yaml, validate_data
from headrace.exceptions import ConfigurationError
from headrace.utils.env import ENV_STRICT_CONFIG, env_flag
from headrace.utils.suggest import closest
from headrace.utils.terminal import headrace_logger

logger = headrace_logger()


def load_run_configuration(
    path: str | Path,
    *,
    pipeline_parameters: Iterable[str] = (),
    step_names: Iterable[str] = (),
) -> PipelineRunConfiguration:
    """Load a YAML run configuration, warning about (or refusing) unknown top-level keys.

    ``pipeline_parameters`` and ``step_names`` (when known) sharpen the hint of where a
    stray key belongs.

    Raises:
        ConfigurationError: an invalid value or nested key; with ``HEADRACE_STRICT_CONFIG``
            also an unknown top-level key.
    """
    data, index = read_yaml(path)
    fields = PipelineRunConfiguration.model_fields
    unknown = [key for key in data if key not in fields]
    if unknown:
        parameters, steps = set(pipeline_parameters), set(step_names)
        notes = []
        for key in unknown:
            line = index.get((key,))
            where = f"{path}, line {line}" if line else str(path)
            hint = where_it_belongs(str(key), parameters, steps)
            notes.append(
                f"{where}: top-level key {key!r} is not part of a run configuration; {hint}"
            )
        if env_flag(ENV_STRICT_CONFIG):
            raise ConfigurationError(
                "Invalid configuration file (HEADRACE_STRICT_CONFIG is set):\n  "
                + "\n  ".join(notes)
            )
        for note in notes:
            logger.warning("%s (ignored; %s=true makes this an error).", note, ENV_STRICT_CONFIG)
        data = {key: value for key, value in data.items() if key in fields}
    return validate_data(PipelineRunConfiguration, data, index, path)


def where_it_belongs(key: str, pipeline_parameters: set[str], step_names: set[str]) -> str:
    """A short hint for a top-level key a run configuration does not have."""
    if key in pipeline_parameters:
        return f"it is a parameter of the pipeline: put it under `parameters:` ({key}: ...)"
    if key in step_names:
        return f"it is a step: put its options under `steps:` (steps: {{{key}: ...}})"
    if key in StepConfiguration.model_fields:
        return f"it is a step option: put it under `steps: <step>:` ({key}: ...)"
    if key in PipelineConfiguration.model_fields:
        return "it is an option of the @pipeline decorator, not of a run"
    match = closest(key, PipelineRunConfiguration.model_fields)
    if match is not None:
        return f"did you mean {match!r}?"
    return "pipeline parameters go under `parameters:` and step options under `steps: <step>:`"
