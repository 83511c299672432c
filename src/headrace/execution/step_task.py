"""A step described by data: the task an orchestrator is handed and the result it reports.

A ``StepTask`` holds everything one step run needs that is not already in the store:
the step's spec (dynamic runs add steps while running, so the task carries its own),
the pipeline configuration it inherits from, the resolved versions of its inputs, and
where the store, the artifact store and the code are. ``run_step_task`` runs it with the
ordinary StepRunner in any process that reaches the store and the artifact store; the
step writes its own records and bytes, and the result only says how it ended and which
artifact versions it produced.

What exists only in the driver process is not part of a task: the object the pipeline's
``on_init`` hook returned (``get_step_context().pipeline_state``) and live objects
defined in the driver (classes or functions made inside functions). A step that runs
in another process sees ``pipeline_state`` as ``None`` and must be importable by source.
Orchestrators whose steps share the driver's memory (``runs_in_process``) run tasks
with the driver's own run state instead, so those steps see both, and immutable values
are handed downstream in memory without being read back.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from headrace.enums import ExecutionStatus
from headrace.exceptions import ArtifactIntegrityError
from headrace.utils.records import Record

if TYPE_CHECKING:
    from headrace.config.pipeline_configurations import PipelineConfiguration
    from headrace.config.spec import StepSpec

TASK_FORMAT_VERSION = 1

# Values of these types are handed to downstream steps from memory: they cannot be
# changed in place, so a reader cannot tell them from a freshly loaded copy.
_IMMUTABLE = (int, float, bool, str, bytes, type(None), complex)


def is_immutable(value: Any) -> bool:
    """Whether ``value`` can be shared between steps without copying."""
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, tuple | frozenset):
        return all(is_immutable(v) for v in value)
    return False


class InputArtifact(Record):
    """A stored artifact version a step reads or wrote: how to find and load its bytes.

    ``value``/``has_value`` hold the value itself when it is immutable and was produced
    in this process; they never leave the process (not part of the JSON form).
    ``inline`` holds the files of an inline artifact (kept in its record, nothing at
    ``uri``); it travels in the JSON form as base64.
    """

    __slots__ = (
        "artifact_version_id",
        "content_hash",
        "data_type",
        "has_value",
        "inline",
        "materializer",
        "python_version",
        "uri",
        "value",
    )
    artifact_version_id: str
    uri: str
    materializer: str
    data_type: str
    content_hash: str
    python_version: str | None
    value: Any
    has_value: bool
    inline: bytes | None

    def __init__(
        self,
        artifact_version_id: str,
        uri: str,
        materializer: str,
        data_type: str,
        content_hash: str,
        python_version: str | None,
        value: Any = None,
        has_value: bool = False,
        inline: bytes | None = None,
    ) -> None:
        self.artifact_version_id = artifact_version_id
        self.uri = uri
        self.materializer = materializer
        self.data_type = data_type
        self.content_hash = content_hash
        self.python_version = python_version
        self.value = value
        self.has_value = has_value
        self.inline = inline

    def without_value(self) -> InputArtifact:
        """A copy that does not hold the value in memory (readers load it)."""
        return InputArtifact(
            self.artifact_version_id,
            self.uri,
            self.materializer,
            self.data_type,
            self.content_hash,
            self.python_version,
            inline=self.inline,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without any in-memory value)."""
        data = {
            "artifact_version_id": self.artifact_version_id,
            "uri": self.uri,
            "materializer": self.materializer,
            "data_type": self.data_type,
            "content_hash": self.content_hash,
            "python_version": self.python_version,
        }
        if self.inline is not None:
            data["inline"] = base64.b64encode(self.inline).decode("ascii")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputArtifact:
        """Read the JSON form."""
        return cls(
            artifact_version_id=data["artifact_version_id"],
            uri=data["uri"],
            materializer=data["materializer"],
            data_type=data["data_type"],
            content_hash=data["content_hash"],
            python_version=data.get("python_version"),
            inline=_inline_from_json(data.get("inline"), data["artifact_version_id"]),
        )


def _inline_from_json(value: Any, version_id: str) -> bytes | None:
    """The base64 ``inline`` field of an input artifact's JSON form.

    Raises:
        ArtifactIntegrityError: it is not a base64 string.
    """
    if value is None:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArtifactIntegrityError(
            f"The inline bytes of artifact version {version_id} in the step task are not "
            f"base64: {exc}."
        ) from exc


class CodeLocation(Record):
    """Where a step's code is: a content-addressed code archive in the artifact store."""

    __slots__ = ("digest", "uri")
    digest: str
    uri: str

    def __init__(self, digest: str, uri: str) -> None:
        self.digest = digest
        self.uri = uri


class StepTask(Record):
    """One step of one run, ready to run: its inputs are resolved.

    ``code`` is ``None`` when the step is imported from the running interpreter's
    ``sys.path`` (local processes); a remote orchestrator sets it to the snapshot's code
    archive. ``artifact_store`` is the stack's artifact-store component:
    ``{"flavor": ..., "configuration": {...}}`` (``{"path": ...}`` for ``local``).
    """

    __slots__ = (
        "artifact_store",
        "code",
        "inputs",
        "invocation_id",
        "model_version_id",
        "pipeline_config",
        "pipeline_name",
        "run_id",
        "snapshot_id",
        "stack_id",
        "step",
        "store_url",
    )
    run_id: str
    pipeline_name: str
    invocation_id: str
    step: StepSpec
    pipeline_config: PipelineConfiguration
    snapshot_id: str | None
    code: CodeLocation | None
    inputs: dict[str, list[InputArtifact]]
    store_url: str
    artifact_store: dict[str, Any]
    stack_id: str
    model_version_id: str | None

    def __init__(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        invocation_id: str,
        step: StepSpec,
        pipeline_config: PipelineConfiguration,
        snapshot_id: str | None,
        code: CodeLocation | None,
        inputs: dict[str, list[InputArtifact]],
        store_url: str,
        artifact_store: dict[str, Any],
        stack_id: str,
        model_version_id: str | None,
    ) -> None:
        self.run_id = run_id
        self.pipeline_name = pipeline_name
        self.invocation_id = invocation_id
        self.step = step
        self.pipeline_config = pipeline_config
        self.snapshot_id = snapshot_id
        self.code = code
        self.inputs = inputs
        self.store_url = store_url
        self.artifact_store = artifact_store
        self.stack_id = stack_id
        self.model_version_id = model_version_id

    def run_fields(self) -> dict[str, Any]:
        """The JSON form of what every task of the run shares (see ``split_task``)."""
        return {
            "format": TASK_FORMAT_VERSION,
            "run_id": self.run_id,
            "pipeline_name": self.pipeline_name,
            "pipeline_config": self.pipeline_config.model_dump(mode="json", exclude_unset=True),
            "snapshot_id": self.snapshot_id,
            "code": None
            if self.code is None
            else {"digest": self.code.digest, "uri": self.code.uri},
            "store_url": self.store_url,
            "artifact_store": dict(self.artifact_store),
            "stack_id": self.stack_id,
        }

    def step_fields(self, *, with_step: bool = True) -> dict[str, Any]:
        """The JSON form of what is this task's own: its step, inputs and model version."""
        fields: dict[str, Any] = {
            "invocation_id": self.invocation_id,
            "inputs": {
                name: [record.to_dict() for record in records]
                for name, records in self.inputs.items()
            },
            "model_version_id": self.model_version_id,
        }
        if with_step:
            fields["step"] = self.step.model_dump(mode="json")
        return fields

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form (in-memory input values are left out)."""
        return {**self.run_fields(), **self.step_fields()}

    def to_json(self) -> str:
        """The task as a JSON document."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepTask:
        """Read the JSON form.

        Raises:
            ValueError: the document is not a step task this version understands.
        """
        return cls.from_fields(_RunFields.from_dict(data), data)

    @classmethod
    def from_fields(cls, run: _RunFields, data: dict[str, Any]) -> StepTask:
        """A task from its run's fields (read already) and its own (``step_fields``)."""
        from headrace.config.spec import StepSpec

        return cls(
            run_id=run.run_id,
            pipeline_name=run.pipeline_name,
            invocation_id=data["invocation_id"],
            step=StepSpec.model_validate(data["step"]),
            pipeline_config=run.pipeline_config,
            snapshot_id=run.snapshot_id,
            code=run.code,
            inputs={
                name: [InputArtifact.from_dict(r) for r in records]
                for name, records in data["inputs"].items()
            },
            store_url=run.store_url,
            artifact_store=dict(run.artifact_store),
            stack_id=run.stack_id,
            model_version_id=data.get("model_version_id"),
        )

    @classmethod
    def from_json(cls, text: str) -> StepTask:
        """Read a task from a JSON document."""
        return cls.from_dict(json.loads(text))


class _RunFields(Record):
    """The run's part of a task, read (and validated) once per distinct document."""

    __slots__ = (
        "artifact_store",
        "code",
        "pipeline_config",
        "pipeline_name",
        "run_id",
        "snapshot_id",
        "stack_id",
        "store_url",
    )
    run_id: str
    pipeline_name: str
    pipeline_config: PipelineConfiguration
    snapshot_id: str | None
    code: CodeLocation | None
    store_url: str
    artifact_store: dict[str, Any]
    stack_id: str

    def __init__(
        self,
        *,
        run_id: str,
        pipeline_name: str,
        pipeline_config: PipelineConfiguration,
        snapshot_id: str | None,
        code: CodeLocation | None,
        store_url: str,
        artifact_store: dict[str, Any],
        stack_id: str,
    ) -> None:
        self.run_id = run_id
        self.pipeline_name = pipeline_name
        self.pipeline_config = pipeline_config
        self.snapshot_id = snapshot_id
        self.code = code
        self.store_url = store_url
        self.artifact_store = artifact_store
        self.stack_id = stack_id

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _RunFields:
        """Read the run's fields of a task document.

        Raises:
            ValueError: the document is not a step task this version understands.
        """
        from headrace.config.pipeline_configurations import PipelineConfiguration

        version = data.get("format")
        if version != TASK_FORMAT_VERSION:
            raise ValueError(
                f"Step task format {version!r} is not supported (expected "
                f"{TASK_FORMAT_VERSION}); the driver and this process run different "
                "headrace versions."
            )
        code = data.get("code")
        return cls(
            run_id=data["run_id"],
            pipeline_name=data["pipeline_name"],
            pipeline_config=PipelineConfiguration.model_validate(data["pipeline_config"]),
            snapshot_id=data.get("snapshot_id"),
            code=None if code is None else CodeLocation(code["digest"], code["uri"]),
            store_url=data["store_url"],
            artifact_store=dict(data["artifact_store"]),
            stack_id=data["stack_id"],
        )


# -- a task in two parts ---------------------------------------------------------------
# Every task of a run carries the same run fields (pipeline configuration, store and
# artifact-store locations, code). An orchestrator that hands a process many tasks of
# one run (Ray) sends them as two documents: the run's, serialised once per run by the
# driver and read once per process, and the task's own.
_RUN_DOCUMENTS: dict[str, _RunFields] = {}
_RUN_DOCUMENTS_MAX = 16


class TaskSplitter:
    """Splits tasks into (run document, task document); the run document is made once
    for all the tasks that share their run's fields (a run's ``TaskFactory`` gives every
    task the same configuration, code and artifact-store objects)."""

    def __init__(self) -> None:
        self._shared: tuple[Any, ...] = ()
        self._document = ""

    def split(self, task: StepTask) -> tuple[str, str]:
        """The run's document and the task's own, for ``task_from_parts``."""
        shared = (
            task.run_id,
            task.pipeline_name,
            task.pipeline_config,
            task.snapshot_id,
            task.code,
            task.store_url,
            task.artifact_store,
            task.stack_id,
        )
        if len(shared) != len(self._shared) or any(
            a is not b and a != b for a, b in zip(shared, self._shared, strict=True)
        ):
            self._document = json.dumps(task.run_fields())
            self._shared = shared
        # The step spec is written by pydantic's serialiser straight to JSON (a few times
        # faster than a dict dumped again), then set into the task's own document.
        own = task.step_fields(with_step=False)
        return self._document, f'{json.dumps(own)[:-1]}, "step": {task.step.model_dump_json()}}}'


def task_from_parts(run_document: str, task_document: str) -> StepTask:
    """The task ``TaskSplitter.split`` made the two documents of; the run's document is
    read once per process (the last few runs' are kept).

    Raises:
        ValueError: a document is not a step task this version understands.
    """
    run = _RUN_DOCUMENTS.get(run_document)
    if run is None:
        run = _RunFields.from_dict(json.loads(run_document))
        if len(_RUN_DOCUMENTS) >= _RUN_DOCUMENTS_MAX:
            _RUN_DOCUMENTS.pop(next(iter(_RUN_DOCUMENTS)))
        _RUN_DOCUMENTS[run_document] = run
    return StepTask.from_fields(run, json.loads(task_document))


class StepResult(Record):
    """How a step task ended.

    ``recorded`` is false when the step's own process could not record its outcome
    (it was killed, crashed, or never started): the driver then records ``status`` for
    the step (``record_unfinished`` in the launcher). ``exception`` is the exception
    itself when the step ran in the driver's process; it never leaves the process.
    """

    __slots__ = (
        "error",
        "exception",
        "invocation_id",
        "outputs",
        "recorded",
        "status",
        "step_run_id",
    )
    invocation_id: str
    status: ExecutionStatus
    step_run_id: str | None
    outputs: dict[str, InputArtifact]
    error: str | None
    recorded: bool
    exception: BaseException | None

    def __init__(
        self,
        invocation_id: str,
        status: ExecutionStatus,
        step_run_id: str | None = None,
        outputs: dict[str, InputArtifact] | None = None,
        error: str | None = None,
        recorded: bool = True,
        exception: BaseException | None = None,
    ) -> None:
        self.invocation_id = invocation_id
        self.status = status
        self.step_run_id = step_run_id
        self.outputs = {} if outputs is None else outputs
        self.error = error
        self.recorded = recorded
        self.exception = exception

    @classmethod
    def from_exception(
        cls,
        invocation_id: str,
        status: ExecutionStatus,
        exc: BaseException,
        step_run_id: str | None = None,
        recorded: bool = True,
    ) -> StepResult:
        """A result carrying ``exc`` (and its ``"Type: message"`` text)."""
        return cls(
            invocation_id,
            status,
            step_run_id,
            error=f"{type(exc).__name__}: {exc}",
            recorded=recorded,
            exception=exc,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form (without the exception object)."""
        return {
            "invocation_id": self.invocation_id,
            "status": self.status.value,
            "step_run_id": self.step_run_id,
            "outputs": {name: record.to_dict() for name, record in self.outputs.items()},
            "error": self.error,
            "recorded": self.recorded,
        }

    def to_json(self) -> str:
        """The result as a JSON document."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        """Read the JSON form."""
        return cls(
            invocation_id=data["invocation_id"],
            status=ExecutionStatus(data["status"]),
            step_run_id=data.get("step_run_id"),
            outputs={
                name: InputArtifact.from_dict(record)
                for name, record in data.get("outputs", {}).items()
            },
            error=data.get("error"),
            recorded=bool(data.get("recorded", True)),
        )

    @classmethod
    def from_json(cls, text: str) -> StepResult:
        """Read a result from a JSON document."""
        return cls.from_dict(json.loads(text))


def run_step_task(task: StepTask) -> StepResult:
    """Run one step task in this process with the ordinary StepRunner.

    Opens the store at ``task.store_url`` and the task's artifact store, fetches the run
    record, applies the pipeline's environment and secrets, runs the step (cache lookup,
    retries, hooks, logs and records included) and returns how it ended. The code must
    be importable here: ``task.code`` is unpacked first when given (see
    ``headrace.execution.code_loading``), else the current ``sys.path`` is used.
    """
    from headrace.execution.task_state import state_for_task

    with state_for_task(task) as (_state, runner):
        return runner.run(task)
