"""``get_step_context()``: what a running step (or its hooks) can know about its run."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from headrace.enums import MetadataResourceType, TaggableResourceType
from headrace.exceptions import HeadraceError
from headrace.metadata.metadata_types import validate_metadata

if TYPE_CHECKING:
    from headrace.config.spec import StepSpec
    from headrace.execution.model_handle import Model
    from headrace.execution.run_state import RunState
    from headrace.models import ModelVersionResponse, PipelineRunResponse, StepRunResponse
    from headrace.models.step_run import HookError, StepRunError

_STEP_CONTEXT: ContextVar[StepContext | None] = ContextVar("headrace_step_context", default=None)


class StepContext:
    """The run and step a step (or hook) is executing for."""

    def __init__(self, state: RunState, spec: StepSpec, step_run_id: str) -> None:
        self._state = state
        self._spec = spec
        self.step_run_id = step_run_id
        self.exception: BaseException | None = None
        self.output_uris: dict[str, str] = {}
        # Seeded from the outputs' ArtifactConfig; the step may add more while it runs.
        self.output_metadata: dict[str, dict[str, Any]] = {
            name: dict(out.run_metadata) for name, out in spec.outputs.items() if out.run_metadata
        }
        self.output_tags: dict[str, list[str]] = {
            name: list(out.tags) for name, out in spec.outputs.items() if out.tags
        }
        self.log_buffer: list[str] | None = None
        self.attempt_errors: list[StepRunError] = []
        self.hook_errors: list[HookError] = []
        # Writes step-run records that are still pending (this step's own "running"
        # record may be one), so ``step_run`` finds the row.
        self.flush_records: Callable[[], None] | None = None
        # Metadata logged for this step run; written with its final status.
        self.step_metadata: dict[str, Any] = {}
        # Set once the step's outcome is in the store (hooks may still run after that):
        # metadata logged later goes to the store directly, outputs by their version ids.
        self.recorded = False
        self.output_version_ids: dict[str, str] = {}
        self._model_handle: Model | None = None

    @property
    def step_name(self) -> str:
        """The step's name."""
        return self._spec.step_name

    @property
    def invocation_id(self) -> str:
        """The id of this invocation in the pipeline."""
        return self._spec.invocation_id

    @property
    def pipeline_run(self) -> PipelineRunResponse:
        """The pipeline run (as recorded when it started)."""
        return self._state.run

    @property
    def pipeline(self) -> Any:
        """The pipeline of the run."""
        return self._state.run.pipeline

    @property
    def step_run(self) -> StepRunResponse:
        """This step run, read from the store."""
        if self.flush_records is not None:
            self.flush_records()
        return self._state.store.get_step_run(self.step_run_id)

    @property
    def pipeline_state(self) -> Any:
        """What the pipeline's ``on_init`` hook returned."""
        return self._state.pipeline_state

    @property
    def model(self) -> Model | None:
        """The model of this step (its own, else its pipeline's), as a handle on the
        version this run works on: ``.number``, ``.get_artifact(...)``,
        ``.set_stage(...)``, ``.log_metadata(...)`` ..."""
        configured = self._spec.config.model or self._state.spec.config.model
        if configured is None:
            return None
        if self.flush_records is not None:
            # Cached upstream steps are recorded lazily; their outputs' links to the
            # model version must be in the store before this step reads the version.
            self.flush_records()
        if self._model_handle is None:
            from headrace.execution.model_handle import Model as ModelHandle

            version = self.model_version
            if version is None:  # a model without a version record: nothing to bind
                return ModelHandle(**configured.model_dump())
            self._model_handle = ModelHandle.bound(configured, version)
        return self._model_handle

    @property
    def model_version(self) -> ModelVersionResponse | None:
        """The model version this run works on for this step (``None`` without a model)."""
        return self._state.model_version_for(self._spec)

    @property
    def parameters(self) -> dict[str, Any]:
        """The step's parameters."""
        return dict(self._spec.parameters)

    @property
    def output_names(self) -> list[str]:
        """Names of this step's outputs."""
        return list(self._spec.outputs)

    def output_named(self, name: str) -> str | None:
        """The output that ``name`` means: an output name, or an output's artifact name."""
        if name in self._spec.outputs:
            return name
        for output in self._spec.outputs:
            if self._state.artifact_name(self._spec, output)[0] == name:
                return output
        return None

    def mark_recorded(self, output_version_ids: dict[str, str]) -> None:
        """Note that the step's outcome (and these output versions) are in the store."""
        self.output_version_ids = dict(output_version_ids)
        self.recorded = True

    def get_output_artifact_uri(self, output_name: str | None = None) -> str:
        """The URI where an output of this step will be stored."""
        name = self._single_output(output_name)
        return self._state.output_uri(self._spec.invocation_id, name)

    def add_output_metadata(self, metadata: dict[str, Any], output_name: str | None = None) -> None:
        """Record extra metadata on one of this step's outputs.

        Before the outputs are stored it is kept here and stored with them, in the same
        transaction; afterwards (in a success hook) it is added to the stored version.
        """
        name = self._single_output(output_name)
        metadata = validate_metadata(metadata, owner=f"Metadata of output {name!r}")
        if self.recorded:
            self._state.store.add_run_metadata(
                MetadataResourceType.ARTIFACT_VERSION, self._stored_output(name), metadata
            )
            return
        self.output_metadata.setdefault(name, {}).update(metadata)

    def add_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        """Tag one of this step's outputs (stored with it, or added to it once stored)."""
        name = self._single_output(output_name)
        from headrace.models.tag import clean_tags  # lazy: keeps import headrace light

        names = clean_tags(tags)
        if self.recorded:
            self._state.store.add_tags(
                TaggableResourceType.ARTIFACT_VERSION, self._stored_output(name), names
            )
            return
        current = self.output_tags.setdefault(name, [])
        current.extend(tag for tag in names if tag not in current)

    def remove_output_tags(self, tags: list[str], output_name: str | None = None) -> None:
        """Take tags off one of this step's outputs."""
        name = self._single_output(output_name)
        from headrace.models.tag import clean_tags  # lazy: keeps import headrace light

        names = clean_tags(tags)
        if self.recorded:
            self._state.store.remove_tags(
                TaggableResourceType.ARTIFACT_VERSION, self._stored_output(name), names
            )
            return
        self.output_tags[name] = [t for t in self.output_tags.get(name, []) if t not in names]

    def add_step_metadata(self, metadata: dict[str, Any]) -> None:
        """Record metadata on this step run (with its final status, or directly once
        that is stored)."""
        metadata = validate_metadata(metadata, owner=f"Metadata of step {self.invocation_id!r}")
        if self.recorded:
            self._state.store.add_run_metadata(
                MetadataResourceType.STEP_RUN, self.step_run_id, metadata
            )
            return
        self.step_metadata.update(metadata)

    def _stored_output(self, name: str) -> str:
        version_id = self.output_version_ids.get(name)
        if version_id is None:
            raise HeadraceError(
                f"Step {self.invocation_id!r} stored no version of output {name!r} "
                "(it did not succeed), so nothing can be added to it."
            )
        return version_id

    def _single_output(self, output_name: str | None) -> str:
        outputs = list(self._spec.outputs)
        if output_name is None:
            if len(outputs) != 1:
                raise HeadraceError(
                    f"Step {self.step_name!r} has {len(outputs)} outputs ({', '.join(outputs)}); "
                    "name the one you mean."
                )
            return outputs[0]
        if output_name not in self._spec.outputs:
            raise HeadraceError(
                f"Step {self.step_name!r} has no output {output_name!r} "
                f"(outputs: {', '.join(outputs) or 'none'})."
            )
        return output_name


def get_step_context() -> StepContext:
    """The context of the step running in this thread.

    Raises:
        HeadraceError: called outside a running step or step hook.
    """
    context = _STEP_CONTEXT.get()
    if context is None:
        raise HeadraceError(
            "get_step_context() works only inside a running step or one of its hooks."
        )
    return context


def current_step_context() -> StepContext | None:
    """The context of the step running in this thread, or ``None`` outside steps."""
    return _STEP_CONTEXT.get()


def set_step_context(context: StepContext | None) -> Any:
    """Make ``context`` current; returns a token for :func:`reset_step_context`."""
    return _STEP_CONTEXT.set(context)


def reset_step_context(token: Any) -> None:
    """Restore the step context that was current before ``set_step_context``."""
    _STEP_CONTEXT.reset(token)
