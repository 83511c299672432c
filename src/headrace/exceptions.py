"""Every error headrace raises on purpose, in one place.

Each message says what was wrong (which step, parameter, field or file) and what was
expected, so the user can act on it without reading a traceback.

Hierarchy::

    HeadraceError
     +-- DefinitionError            a @step / @pipeline definition is malformed
     |    +-- StepInterfaceError        bad signature or annotations
     +-- CompilationError           the pipeline graph cannot be built
     +-- ConfigurationError         a configuration value or file is invalid
     |    +-- RunConfigurationError     a run configuration does not fit a snapshot
     |    +-- StackComponentError       an unknown flavor or an invalid component config
     +-- StoreError                 metadata store problems
     |    +-- EntityNotFoundError       (also a KeyError, so ``in``-style code works)
     |    +-- EntityExistsError
     |    +-- StoreVersionError         the database schema is newer than this code
     |    +-- StoreConflictError        a write broke a uniqueness or reference rule
     |    +-- InvalidFilterError        a list filter or sort order that cannot apply
     +-- ArtifactError              artifact bytes cannot be written or read
     |    +-- MaterializerError
     |    +-- ArtifactIncompatibleError  e.g. a pickle from another Python version
     |    +-- ArtifactIntegrityError     the bytes differ from the recorded content hash
     +-- StepExecutionError         a step run went wrong outside user code
     |    +-- StepInputTypeError / StepOutputTypeError
     +-- StepInterruptedError       raised inside a running step that must stop
     +-- RunFailedError             a pipeline run ended failed (the step error chained)
     +-- SnapshotError              snapshots: archive, environment, version problems
     |    +-- ImageBuildError       container image context, build or push
     +-- SecretError                missing or unreadable secrets
     +-- OrchestratorError          an orchestrator cannot run steps (e.g. its cluster
                                    is unreachable)
     +-- AuthenticationError        no valid credentials or token (HTTP 401)
     |    +-- TooManyAttemptsError      login locked for a while after failures (HTTP 429)
     +-- PermissionDeniedError      the account's role or a snapshot's rule forbids it (403)
     +-- ServerConfigurationError   the server cannot start: a setting is missing or malformed
     +-- QueueFullError             the run queue is full; retry later (HTTP 429)
     +-- WorkloadManagerError       a workload manager could not launch, watch or stop a run
     +-- ScheduleError              a schedule is invalid or cannot be created here
     +-- DeploymentError            a deployment cannot be provisioned, found or invoked
          +-- DeploymentInvocationError  a deployed pipeline ran and failed
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class HeadraceError(Exception):
    """Base class of every error headrace raises on purpose."""


class DefinitionError(HeadraceError):
    """A step or pipeline definition is malformed."""


class StepInterfaceError(DefinitionError):
    """A step's signature, annotations or outputs cannot be used."""


class CompilationError(HeadraceError):
    """The pipeline function does not describe a valid graph."""


class ConfigurationError(HeadraceError, ValueError):
    """A configuration value, option or file is invalid.

    Also a ``ValueError`` so that pydantic validators can raise it and have it reported
    with the field's location.
    """


class RunConfigurationError(ConfigurationError):
    """A run configuration does not fit the snapshot it is meant for.

    Carries every problem found, so the user can fix them all at once.
    """

    def __init__(self, problems: Sequence[str], *, subject: str = "run configuration") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid {subject} ({len(self.problems)} problem(s)):\n{lines}")


class StackComponentError(ConfigurationError):
    """A stack component's flavor is unknown or its configuration does not fit it."""


class StoreError(HeadraceError):
    """The metadata store could not do what was asked."""


class EntityNotFoundError(StoreError, KeyError):
    """No entity matches the given name or id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class EntityExistsError(StoreError):
    """An entity with the same unique name already exists."""


class StoreVersionError(StoreError):
    """The store's schema does not match what this version of headrace can use."""


class StoreConflictError(StoreError):
    """The database refused a write that breaks a uniqueness or reference rule.

    The store turns the conflicts it expects (a taken name, a version that exists) into
    ``EntityExistsError`` with what to do; this one reaches users only for the rest.

    Attributes:
        unique: the write repeated a unique key (else it broke another rule, such as a
            reference to a row that does not exist).
    """

    def __init__(self, message: str, *, unique: bool) -> None:
        super().__init__(message)
        self.unique = unique


class InvalidFilterError(StoreError, ValueError):
    """A list filter, operator or sort order that cannot be applied (names the field)."""


class ArtifactError(HeadraceError):
    """Artifact bytes could not be written or read."""


class MaterializerError(ArtifactError):
    """A materializer cannot handle the given type or data."""


class ArtifactIncompatibleError(ArtifactError):
    """An artifact was written in a form this interpreter cannot read back."""


class ArtifactIntegrityError(ArtifactError):
    """An artifact's bytes no longer match the content hash recorded when it was written."""


class StepExecutionError(HeadraceError):
    """A step run failed for a reason outside the step's own code."""


class StepInputTypeError(StepExecutionError, TypeError):
    """A value given to a step input does not match its annotation."""


class StepOutputTypeError(StepExecutionError, TypeError):
    """A value returned by a step does not match its output annotation."""


class StepInterruptedError(HeadraceError):
    """Raised inside a running step that the orchestrator stopped (FAIL_FAST)."""


class RunFailedError(HeadraceError):
    """A pipeline run ended in failure; the first step error is chained as the cause."""

    def __init__(
        self, run_name: str, failed_steps: Iterable[str], detail: str = "", *, stopped: bool = False
    ) -> None:
        self.run_name = run_name
        self.failed_steps = list(failed_steps)
        self.stopped = stopped
        steps = ", ".join(repr(s) for s in self.failed_steps) or "(no step failed)"
        if stopped and not self.failed_steps:
            msg = f"Pipeline run {run_name!r} was stopped."
        else:
            msg = f"Pipeline run {run_name!r} failed. Failed step(s): {steps}."
        if detail:
            msg += f" {detail}"
        super().__init__(msg)


class RunResumeError(HeadraceError):
    """A run cannot be resumed (it did not fail or stop, or has no snapshot)."""


class SnapshotError(HeadraceError):
    """A snapshot cannot be created, found or run."""


class ImageBuildError(SnapshotError):
    """A container image cannot be described, built or pushed."""


class SecretError(HeadraceError):
    """A secret is missing or cannot be decrypted."""


class OrchestratorError(HeadraceError):
    """An orchestrator cannot run the run's steps: its cluster is unreachable, refused
    the connection, or cannot be asked for what a step needs."""


class AuthenticationError(HeadraceError):
    """Credentials or a token were missing, wrong, expired, revoked or deactivated.

    Messages never say whether a user name exists: a wrong name and a wrong password
    read the same.
    """


class TooManyAttemptsError(AuthenticationError):
    """Logins for this user or from this address failed too often; wait and retry.

    Attributes:
        retry_after: seconds until a login is accepted again.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDeniedError(HeadraceError):
    """The account is known, but its role (or a snapshot's access rule) does not allow this."""


class ServerConfigurationError(HeadraceError):
    """The server cannot start: an environment variable or setting it needs is missing or
    malformed. The message names every such variable and what it expects."""


class QueueFullError(HeadraceError):
    """The server's run queue holds its maximum of waiting runs; nothing was created.

    Attributes:
        retry_after: seconds after which a retry has a fair chance (HTTP ``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkloadManagerError(HeadraceError):
    """A workload manager could not launch, watch or stop a run's runner (its cluster or
    API is unreachable, or refused the job)."""


class ScheduleError(HeadraceError):
    """A schedule is invalid (cron expression, times) or cannot be created where the run
    would go (a local store has no scheduler: start a server)."""


class DeploymentError(HeadraceError):
    """A deployment cannot be provisioned, found, reached or invoked."""


class DeploymentInvocationError(DeploymentError):
    """A deployed pipeline ran and failed (a step raised); ``run_id`` names the tracked
    run, ``None`` when the deployment does not track invocations."""

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
