"""``get_pipeline_context()``: the pipeline's configuration, read inside its function.

It lives with the execution code, not the dsl, because its ``model`` is a handle that
reads model versions from the store.

While a pipeline function runs (when it is compiled, or during a dynamic run) it can
read the name, model, ``extra`` and other options it was configured with, e.g. to pick
steps by ``extra`` or to hand the model's artifacts to its steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.exceptions import HeadraceError

if TYPE_CHECKING:
    from headrace.config.pipeline_configurations import PipelineConfiguration
    from headrace.execution.model_handle import Model


class PipelineContext:
    """What a pipeline function may know about how its pipeline is configured."""

    def __init__(self, name: str, configuration: PipelineConfiguration) -> None:
        self.name = name
        self._configuration = configuration

    @property
    def model(self) -> Model | None:
        """The pipeline's model, if it has one, as a ``Model`` handle: a version that
        exists (``version="production"``, a name or number) can be read from it here,
        e.g. ``get_pipeline_context().model.get_artifact("scaler")`` to feed a step."""
        from headrace.execution.model_handle import Model

        configured = self._configuration.model
        if configured is None or isinstance(configured, Model):
            return configured
        return Model(**configured.model_dump())

    @property
    def extra(self) -> dict[str, Any]:
        """The pipeline's ``extra`` options."""
        return dict(self._configuration.extra)

    @property
    def settings(self) -> dict[str, Any]:
        """The pipeline's settings, by key."""
        return dict(self._configuration.settings)

    @property
    def tags(self) -> list[str]:
        """Tags the pipeline's runs get."""
        return list(self._configuration.tags)

    @property
    def enable_cache(self) -> bool | None:
        """The pipeline's caching option (``None``: the default, on)."""
        return self._configuration.enable_cache

    @property
    def enable_artifact_metadata(self) -> bool | None:
        """Whether artifact metadata is collected (``None``: the default, yes)."""
        return self._configuration.enable_artifact_metadata

    @property
    def enable_artifact_visualization(self) -> bool | None:
        """Whether visualizations are stored (``None``: the default, yes)."""
        return self._configuration.enable_artifact_visualization

    @property
    def enable_step_logs(self) -> bool | None:
        """Whether step logs are kept (``None``: the default, yes)."""
        return self._configuration.enable_step_logs

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables the pipeline's steps get."""
        return dict(self._configuration.environment)


def get_pipeline_context() -> PipelineContext:
    """The context of the pipeline whose function is running in this thread.

    Raises:
        HeadraceError: called outside a pipeline function.
    """
    from headrace.dsl.compiler import active_builder  # lazy: import headrace stays light

    builder = active_builder()
    configuration = None if builder is None else builder.configuration
    if builder is not None and configuration is None:
        # A dynamic run's builder holds the run's spec rather than a configuration.
        state = getattr(builder, "state", None)
        configuration = getattr(getattr(state, "spec", None), "config", None)
    if builder is None or configuration is None:
        raise HeadraceError(
            "get_pipeline_context() works only inside a pipeline function while it runs "
            "(when the pipeline is compiled or, for dynamic pipelines, during the run)."
        )
    return PipelineContext(builder.pipeline_name, configuration)
