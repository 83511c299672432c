"""Files in the artifact stores that no record points to: what ``headrace clean`` removes.

A killed driver can leave two kinds of files behind, neither of which any loader reads:

- temporary siblings of outputs and code archives (``<uri>.tmp-...``) from writes that
  were interrupted before their rename;
- output directories of a run (``runs/<run id>/<step>.<output>``) whose artifact
  version was never recorded (the process died between the rename and the record) or
  whose records were deleted.

Only these places are looked at, and an entry is a leftover only when no artifact
version's URI is the entry or lies below it. Runs that have not ended are skipped
entirely: their steps may be writing right now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from headrace.artifacts.loading import artifact_store_of
from headrace.models import ArtifactVersionFilter, StackFilter

if TYPE_CHECKING:
    from headrace.artifact_stores.base import ArtifactStore
    from headrace.store.base import Store

TEMPORARY_MARK = ".tmp-"
_PAGE = 10_000


@dataclass(frozen=True)
class Leftover:
    """One file or directory no record points to."""

    path: str
    kind: str  # "temporary" or "unrecorded"
    size: int
    artifact_store: ArtifactStore

    def remove(self) -> None:
        """Delete it (a directory with everything below it)."""
        store = self.artifact_store
        if store.isdir(self.path):
            store.rmtree(self.path)
        elif store.exists(self.path):
            store.remove(self.path)


def recorded_uris(store: Store) -> set[str]:
    """The URI of every artifact version in the store."""
    uris: set[str] = set()
    page_number = 1
    while True:
        page = store.list_artifact_versions(ArtifactVersionFilter(page=page_number, size=_PAGE))
        uris.update(version.uri for version in page.items)
        if page_number * _PAGE >= page.total or not page.items:
            return uris
        page_number += 1


def _artifact_stores(store: Store) -> list[ArtifactStore]:
    found: dict[str, ArtifactStore] = {}
    page = store.list_stacks(StackFilter(size=10_000))
    for stack in page.items:
        artifact_store = artifact_store_of(store, stack.id)
        found.setdefault(artifact_store.path, artifact_store)
    return list(found.values())


def _size(artifact_store: ArtifactStore, path: str) -> int:
    try:
        if artifact_store.isdir(path):
            return sum(artifact_store.size(f) for f in artifact_store.files_below(path))
        return artifact_store.size(path)
    except OSError:
        return 0


def _pointed_at(path: str, uris: set[str]) -> bool:
    if path in uris:
        return True
    prefix = path.rstrip("/") + "/"
    return any(uri.startswith(prefix) for uri in uris)


def find_leftovers(store: Store) -> list[Leftover]:
    """Every leftover in the artifact stores of the store's stacks."""
    uris = recorded_uris(store)
    leftovers: list[Leftover] = []
    for artifact_store in _artifact_stores(store):
        leftovers.extend(_leftovers_in(store, artifact_store, uris))
    return leftovers


def _leftovers_in(store: Store, artifact_store: ArtifactStore, uris: set[str]) -> list[Leftover]:
    found: list[Leftover] = []
    join = artifact_store.join
    runs = join(artifact_store.path, "runs")
    if artifact_store.isdir(runs):
        for run_id in sorted(artifact_store.listdir(runs)):
            if _run_unended(store, run_id):
                continue
            directory = join(runs, run_id)
            if not artifact_store.isdir(directory):
                continue
            for entry in sorted(artifact_store.listdir(directory)):
                path = join(directory, entry)
                if TEMPORARY_MARK in entry:
                    kind = "temporary"
                elif not _pointed_at(path, uris):
                    kind = "unrecorded"
                else:
                    continue
                found.append(Leftover(path, kind, _size(artifact_store, path), artifact_store))
    code = join(artifact_store.path, "code")
    if artifact_store.isdir(code):
        for entry in sorted(artifact_store.listdir(code)):
            if TEMPORARY_MARK in entry and not _writer_alive(entry):
                path = join(code, entry)
                found.append(
                    Leftover(path, "temporary", _size(artifact_store, path), artifact_store)
                )
    return found


def _writer_alive(entry: str) -> bool:
    """A code archive's temporary is named after the writing process: skip it while that
    process (on this host) still runs."""
    from headrace.store.run_liveness import process_alive

    suffix = entry.rsplit(TEMPORARY_MARK, 1)[-1]
    return suffix.isdigit() and process_alive(int(suffix), None)


def _run_unended(store: Store, run_id: str) -> bool:
    from headrace.exceptions import EntityNotFoundError

    try:
        return not store.get_run(run_id).status.is_finished
    except EntityNotFoundError:
        return False
