"""Step records applied as a batch: what each one does, and errors that name it.

A remote run queues its step records (``headrace.store.rest_batch``) and the server
applies them in order with ``Store.apply_step_records``. When one is refused, the whole
batch is, and the error says which record it was, so the client's report names the
step run rather than "a batch".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from headrace.exceptions import HeadraceError
from headrace.models.wire import StepRecord, StepRunsCreated, StepRunUpdated

if TYPE_CHECKING:
    from headrace.store.base import Store


def describe(record: StepRecord) -> str:
    """One record in words: its kind and the step run(s) it is about."""
    if isinstance(record, StepRunsCreated):
        names = ", ".join(repr(r.name) for r in record.step_runs[:3])
        more = f" and {len(record.step_runs) - 3} more" if len(record.step_runs) > 3 else ""
        return f"the start records of step(s) {names}{more}"
    if isinstance(record, StepRunUpdated):
        return f"the update of step run {record.step_run_id}"
    return f"the completion of step run {record.step_run_id}"


def record_error(error: HeadraceError, index: int, record: StepRecord) -> HeadraceError:
    """``error``, of the same class (so callers catch it as before), saying which
    record of the batch caused it."""
    return with_message(error, f"Record {index + 1} ({describe(record)}): {error}")


def with_message(error: HeadraceError, message: str) -> HeadraceError:
    """A copy of ``error`` (same class, same attributes) saying ``message``; made
    without calling the class, whose constructor may take other arguments."""
    named = type(error).__new__(type(error))
    named.__dict__.update(error.__dict__)
    named.args = (message,)
    return named


def apply_one_by_one(store: Store, records: Sequence[StepRecord]) -> None:
    """Apply records in order with the ordinary verbs (a transaction each): for stores
    that cannot hold one transaction across them."""
    for index, record in enumerate(records):
        try:
            if isinstance(record, StepRunsCreated):
                store.create_step_runs(record.step_runs)
            elif isinstance(record, StepRunUpdated):
                store.update_step_run(record.step_run_id, record.update)
            else:
                store.complete_step_run(
                    record.step_run_id,
                    record.update,
                    record.outputs,
                    record.create,
                    record.model_version_id,
                )
        except HeadraceError as exc:
            raise record_error(exc, index, record) from exc
