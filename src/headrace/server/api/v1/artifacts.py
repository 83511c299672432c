"""``/api/v1/artifacts`` and ``/api/v1/artifact_versions``: metadata, and the bytes of
a version to whoever may read it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, Response

from headrace.exceptions import ArtifactError
from headrace.models import (
    ArtifactResponse,
    ArtifactVersionFilter,
    ArtifactVersionRequest,
    ArtifactVersionResponse,
    Page,
)
from headrace.models.wire import ArtifactVersionLookup
from headrace.server.deps import ReadAccess, StoreDep, WriteAccess
from headrace.server.names import NameOrId, check_name
from headrace.server.queries import ArtifactVersionQuery, to_filter

router = APIRouter(tags=["artifacts"])


@router.get("/artifacts/{name_or_id}", response_model=ArtifactResponse)
def get_artifact(store: StoreDep, caller: ReadAccess, name_or_id: NameOrId) -> ArtifactResponse:
    """A named artifact by name or id."""
    return store.get_artifact(name_or_id)


@router.get("/artifact_versions", response_model=Page[ArtifactVersionResponse])
def list_artifact_versions(
    store: StoreDep, caller: ReadAccess, query: Annotated[ArtifactVersionQuery, Query()]
) -> Page[ArtifactVersionResponse]:
    """Artifact versions, newest first."""
    return store.list_artifact_versions(to_filter(query, ArtifactVersionFilter))


@router.post(
    "/artifact_versions",
    response_model=ArtifactVersionResponse,
    status_code=status.HTTP_201_CREATED,
)
def create_artifact_version(
    store: StoreDep, caller: WriteAccess, body: ArtifactVersionRequest
) -> ArtifactVersionResponse:
    """Record a version saved outside a step."""
    check_name(body.artifact_name, "artifact")
    return store.create_artifact_version(body)


@router.post("/artifact_versions/lookup", response_model=dict[str, ArtifactVersionResponse])
def get_artifact_versions(
    store: StoreDep, caller: ReadAccess, body: ArtifactVersionLookup
) -> dict[str, ArtifactVersionResponse]:
    """Several versions by id in one call; ids not found are left out."""
    return store.get_artifact_versions(body.ids)


@router.get("/artifact_versions/{name_or_id}", response_model=ArtifactVersionResponse)
def get_artifact_version(
    store: StoreDep,
    caller: ReadAccess,
    name_or_id: NameOrId,
    version: Annotated[str | None, Query(max_length=255)] = None,
) -> ArtifactVersionResponse:
    """A version by id, or by artifact name and ``version`` (the latest if omitted)."""
    # A number names a version by number, as an int does in Python.
    wanted: str | int | None = int(version) if version and version.isdigit() else version
    return store.get_artifact_version(name_or_id, wanted)


@router.get(
    "/artifact_versions/{version_id}/data",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact_version(
    store: StoreDep, caller: ReadAccess, version_id: NameOrId
) -> Response:
    """The stored bytes of a version whose materializer wrote one file (from the record
    itself for a version kept inline, after checking them against its hash)."""
    version = store.get_artifact_version(version_id)
    if version.inline_content is not None:
        return _inline_download(version)
    directory = Path(version.uri.removeprefix("file://"))
    files = sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []
    if directory.is_file():
        files = [directory]
    if len(files) != 1:
        raise ArtifactError(
            f"Artifact version {version.id} has {len(files)} files at {version.uri}; "
            "only single-file versions on a local artifact store can be downloaded."
        )
    return FileResponse(files[0], media_type="application/octet-stream", filename=files[0].name)


def _inline_download(version: ArtifactVersionResponse) -> Response:
    from headrace.artifacts.integrity import check_inline

    files = check_inline(
        version.inline_content or b"",
        version.content_hash,
        f"artifact version {version.id}",
        version.uri,
    )
    if len(files) != 1:
        raise ArtifactError(
            f"Artifact version {version.id} has {len(files)} files (kept inline in its "
            "record); only single-file versions can be downloaded."
        )
    [(name, data)] = files.items()
    # Only plain characters in the header: the name comes from the record.
    filename = "".join(c for c in name.rsplit("/", 1)[-1] if c.isalnum() or c in "._-") or "data"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
